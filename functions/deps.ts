/**
 * What the handlers, tasks and jobs run with: the store, the clock, and where rollouts and windows run. The HTTP
 * handlers add authentication (`ApiDeps`, functions/http/handler.ts): the other functions carry none of it.
 */
import type { WorkflowEngine } from './rollout/engine.js';
import type { UpgradeAllowlist } from './rollout/allowlist.js';
import type { IntegrationStore } from './store/integrations.js';
import type { Store } from './store/store.js';
import type { WindowScheduler } from './windows/scheduler.js';

export interface Deps {
  store: Store;
  now: () => number;
  /** Where rollouts run, and what their upgrades may call; absent where rollouts are not deployed. */
  rollouts?: { engine: WorkflowEngine; allow: UpgradeAllowlist };
  /** Where windows are scheduled (EventBridge Scheduler on AWS; locally the records drive a local scheduler). */
  windows?: WindowScheduler;
  /** The change-event consumers' settings and records (silences, notifications). */
  integrations?: IntegrationStore;
}
