/** One DynamoDB Local (in memory) for the whole run; each test file makes its own table. */
import type { TestProject } from 'vitest/node';
import { JAVA_MISSING, javaAvailable, startDynamoLocal } from '../../local/dynamodb.js';
import { guard } from '../../local/guard.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

interface SharedDynamo {
  endpoint: Promise<string>;
  users: number;
  stop(): Promise<void>;
}

/** Every tier's project runs this setup in the one vitest process: the first starts DynamoDB Local, the last stops it. */
const shared = globalThis as typeof globalThis & { maintctlTestDynamo?: SharedDynamo };

function startShared(): SharedDynamo {
  const started = startDynamoLocal().then((dynamo) => ({
    dynamo,
    // Gone with the run however it ends (a CI timeout kills vitest without its teardown).
    guardian: guard('kill -TERM "$0" 2>/dev/null', String(dynamo.process.pid)),
  }));
  return {
    endpoint: started.then(({ dynamo }) => dynamo.endpoint),
    users: 0,
    async stop() {
      const { dynamo, guardian } = await started;
      await dynamo.stop();
      await guardian.release();
    },
  };
}

export default async function setup(project: TestProject) {
  if (!javaAvailable()) {
    console.error(`\n${JAVA_MISSING}\n`);
    process.exit(1);
  }
  shared.maintctlTestDynamo ??= startShared();
  const dynamo = shared.maintctlTestDynamo;
  dynamo.users++;
  project.provide('dynamodbEndpoint', await dynamo.endpoint);
  return async () => {
    if (--dynamo.users > 0) return;
    shared.maintctlTestDynamo = undefined;
    await dynamo.stop();
  };
}
