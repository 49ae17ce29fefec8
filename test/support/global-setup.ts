/** One DynamoDB Local (in memory) for the whole run; each test file makes its own table. */
import type { TestProject } from 'vitest/node';
import { JAVA_MISSING, javaAvailable, startDynamoLocal } from '../../local/dynamodb.js';
import { guard } from '../../local/guard.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  if (!javaAvailable()) {
    console.error(`\n${JAVA_MISSING}\n`);
    process.exit(1);
  }
  const dynamo = await startDynamoLocal();
  // Gone with the run however it ends (a CI timeout kills vitest without its teardown).
  const guardian = guard('kill -TERM "$0" 2>/dev/null', String(dynamo.process.pid));
  project.provide('dynamodbEndpoint', dynamo.endpoint);
  return async () => {
    await dynamo.stop();
    await guardian.release();
  };
}
