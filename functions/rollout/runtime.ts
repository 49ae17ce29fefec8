/**
 * Module-scope wiring of the task function the state machines invoke (its own bundle: the Lambda and Secrets
 * Manager clients for upgrades, no Step Functions client; the engine's wiring is `engine-runtime.ts`).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { runtimeDeps } from '../runtime.js';
import { allowlistFromEnv } from './input.js';
import { runTask, type TaskDeps, type TaskPayload } from './tasks.js';
import { upgradeTrigger } from './upgrade.js';

const SECRET_TTL_MS = 5 * 60_000;
let secret: { value: string | undefined; at: number } | undefined;

/** The webhook signing secret from Secrets Manager, cached for five minutes (a rotation takes effect within). */
async function webhookSecret(): Promise<string | undefined> {
  const arn = process.env.MAINTCTL_WEBHOOK_SECRET_ARN;
  if (!arn) return undefined;
  if (!secret || Date.now() - secret.at > SECRET_TTL_MS) {
    const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: arn }));
    secret = { value: out.SecretString, at: Date.now() };
  }
  return secret.value;
}

let taskDeps: TaskDeps | undefined;

function runtimeTaskDeps(): TaskDeps {
  if (taskDeps) return taskDeps;
  const { store, now } = runtimeDeps();
  const allow = allowlistFromEnv();
  const lambda = new LambdaClient({});
  taskDeps = {
    store,
    now,
    allow,
    triggerUpgrade: upgradeTrigger({
      allow,
      secret: webhookSecret,
      invoke: async (functionArn, request) => {
        await lambda.send(new InvokeCommand({ FunctionName: functionArn, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(request)) }));
      },
    }),
  };
  return taskDeps;
}

/** The state machine's Lambda tasks (`lambda:invoke` with `{ task, state, execution }`). */
export const handler = (payload: TaskPayload) => runTask(payload, runtimeTaskDeps());
