/** An agent's status report written straight through the domain rule (what `PUT .../status` applies). */
import { reportStatus, type StatusReport } from '../../functions/domain/status.js';
import type { Deps } from '../../functions/deps.js';

/** Reports `fields` on top of what the server last reported (running unless told otherwise). */
export async function applyStatusReport(
  deps: Pick<Deps, 'store' | 'now'>,
  cluster: string,
  server: string,
  fields: Partial<StatusReport>,
): Promise<void> {
  await deps.store.mutate(
    cluster,
    (state) => {
      const s = state!.servers.get(server)!;
      const report: StatusReport = {
        health: 'running',
        role: s.role,
        ...(s.connections !== undefined && { connections: s.connections }),
        ...(s.openTransactions !== undefined && { openTransactions: s.openTransactions }),
        ...(s.version !== undefined && { version: s.version }),
        ...(s.replicationLagSeconds !== undefined && { replicationLagSeconds: s.replicationLagSeconds }),
        ...fields,
      };
      return reportStatus(state!, server, report, deps.now());
    },
    { actor: { user: 'agent', isAdmin: false, source: 'test', requestId: 'report' }, result: () => null },
  );
}
