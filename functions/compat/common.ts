/** What the three compatible families share: which cluster a request acts on, and how refusals read. */
import { DomainError } from '../domain/errors.js';
import type { ApiRequest, Operation, Operations } from '../http/handler.js';
import type { CompatFamily } from '../http/routes.js';

/** The deployment's default cluster per family (local: the demo fleet's; on AWS: the stack's props). */
export const DEFAULT_CLUSTER_ENV: Record<CompatFamily, string> = {
  maxscale: 'MAINTCTL_MAXSCALE_CLUSTER',
  cassandra: 'MAINTCTL_CASSANDRA_CLUSTER',
  greptimedb: 'MAINTCTL_GREPTIMEDB_CLUSTER',
};

/** `/c/{cluster}/...`, else the family's configured default; undefined when neither is there. */
export const clusterOf =
  (family: CompatFamily) =>
  (req: Pick<ApiRequest, 'params'>): string | undefined =>
    req.params.c ?? process.env[DEFAULT_CLUSTER_ENV[family]];

export const compatSource = (family: CompatFamily) => `compat:${family}`;

/** A refusal as a family's plain text: who keeps the target in maintenance, or why the budget says no. */
export function refusalText(error: DomainError): string {
  if (error.code === 'HeldByOthers') return `still in maintenance: ${error.message}`;
  if (error.code === 'BudgetExceeded') {
    const using = (error.details?.usingBudget as string[] | undefined) ?? [];
    return `refused by the disruption budget: ${error.message}${using.length ? ` (unavailable: ${using.join(', ')})` : ''}`;
  }
  return error.message;
}

/** The cluster a compat request acts on; NotFound when the deployment has no default for the family. */
export function requireCluster(family: CompatFamily, req: Pick<ApiRequest, 'params'>): string {
  const cluster = clusterOf(family)(req);
  if (cluster === undefined)
    throw new DomainError('NotFound', `no default cluster is configured for ${family}: use /c/<cluster>/...`);
  return cluster;
}

/** A family's operations, each under its plain path and under `/c/{c}` (the route table lists both). */
export function compatOperations(entries: [method: string, path: string, operation: Operation][]): Operations {
  return Object.fromEntries(
    entries.flatMap(([method, path, op]) => [
      [`${method} ${path}`, op],
      [`${method} /c/{c}${path}`, op],
    ]),
  );
}
