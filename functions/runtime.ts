/**
 * Module-scope wiring for the Lambda runtime: one DynamoDB client per process, reused across invocations.
 * The local server and the tests build their own Deps instead.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { meteredStore } from './change-metrics.js';
import type { Deps } from './deps.js';
import { DynamoStore } from './store/dynamo.js';

/** `requestTimeoutMs`: how long one attempt may go unanswered (5 s; shorter where a test drops connections on purpose). */
export function dynamoClient(
  endpoint = process.env.DYNAMODB_ENDPOINT,
  { requestTimeoutMs = 5000 } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    // A lost connection must end in a retry or a 503, never in a request that hangs (without
    // throwOnRequestTimeout the SDK only logs a warning when the request timeout passes, and waits on).
    requestHandler: { connectionTimeout: 2000, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
    ...(endpoint && {
      endpoint,
      region: process.env.AWS_REGION ?? 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  });
}

export function createDeps(client: DynamoDBClient, table: string, now: () => number = Date.now): Deps {
  const store = meteredStore(new DynamoStore(client, table, now), now);
  return { store, now };
}

let deps: Deps | undefined;

export function runtimeDeps(): Deps {
  const table = process.env.TABLE_NAME;
  if (!table) throw new Error('TABLE_NAME is not set');
  deps ??= createDeps(dynamoClient(), table);
  return deps;
}
