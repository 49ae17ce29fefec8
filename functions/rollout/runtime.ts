/**
 * Module-scope wiring of the task function the state machines invoke (its own bundle: Lambda Invoke and Secrets
 * Manager GetSecretValue for upgrades, no Step Functions client; the engine's wiring is `engine-runtime.ts`).
 */
import { runtimeDeps } from '../runtime.js';
import { getSecretString, invokeAsync } from './aws-calls.js';
import { allowlistFromEnv } from './allowlist.js';
import { loggedTask } from './task-log.js';
import { runTask, type TaskDeps, type TaskPayload } from './tasks.js';
import { upgradeTrigger } from './upgrade.js';

const SECRET_TTL_MS = 5 * 60_000;
let secret: { value: string | undefined; at: number } | undefined;

/** The webhook signing secret from Secrets Manager, cached for five minutes (a rotation takes effect within). */
async function webhookSecret(): Promise<string | undefined> {
  const arn = process.env.MAINTCTL_WEBHOOK_SECRET_ARN;
  if (!arn) return undefined;
  if (!secret || Date.now() - secret.at > SECRET_TTL_MS) {
    secret = { value: await getSecretString(arn), at: Date.now() };
  }
  return secret.value;
}

let taskDeps: TaskDeps | undefined;

function runtimeTaskDeps(): TaskDeps {
  if (taskDeps) return taskDeps;
  const { store, now } = runtimeDeps();
  const allow = allowlistFromEnv();
  taskDeps = {
    store,
    now,
    allow,
    triggerUpgrade: upgradeTrigger({
      allow,
      secret: webhookSecret,
      invoke: (functionArn, request) => invokeAsync(functionArn, request),
    }),
  };
  return taskDeps;
}

/** The state machine's Lambda tasks (`lambda:invoke` with `{ task, state, execution }`). */
export const handler = (payload: TaskPayload) => loggedTask(payload, () => runTask(payload, runtimeTaskDeps()));
