/** One DynamoDB Local (in memory) for the whole run; each test file makes its own table. */
import type { TestProject } from 'vitest/node';
import { JAVA_MISSING, javaAvailable, startDynamoLocal } from '../../local/dynamodb.js';

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
  project.provide('dynamodbEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
}
