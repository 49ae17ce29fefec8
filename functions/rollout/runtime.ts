/**
 * Module-scope wiring of the rollout functions on Lambda: the API's and the sweeper's engine (Step Functions),
 * and the task handler the state machine invokes. Kept apart from `runtime.ts` so the other families' bundles
 * do not carry the Step Functions, Lambda and Secrets Manager clients.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Deps } from '../http/handler.js';
import { runtimeDeps } from '../runtime.js';
import { StepFunctionsEngine } from './engine.js';
import { allowlistFromEnv } from './input.js';
import { runTask, type TaskDeps, type TaskPayload } from './tasks.js';
import { upgradeTrigger } from './upgrade.js';

let withRollouts: Deps | undefined;

/** The API's deps plus the rollout engine, when the stack gives the state machine's ARN. */
export function rolloutRuntimeDeps(): Deps {
  const arn = process.env.ROLLOUT_STATE_MACHINE_ARN;
  withRollouts ??= { ...runtimeDeps(), ...(arn && { rollouts: { engine: new StepFunctionsEngine(new SFNClient({}), arn), allow: allowlistFromEnv() } }) };
  return withRollouts;
}

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
