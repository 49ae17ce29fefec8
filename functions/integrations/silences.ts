/**
 * Alert silences driven by change events (issue 17 #3). An audit event that starts a maintenance claim records the
 * silence it wants (one item per claim, conditional: a redelivered or concurrent event adds nothing) and then
 * brings Alertmanager in line under the record's lease; an event that ends the claim marks it ended and expires
 * the silence. Alertmanager being down never reaches the change itself: the record stays pending, is counted,
 * and the reconciler (every minute) retries it, renews rolling ends and ends silences whose claim has gone.
 */
import {
  claimChanges,
  claimKey,
  commentMarker,
  renderMatchers,
  silenceComment,
  targetKind,
  templateValues,
  wantedEnd,
} from '../domain/silences.js';
import type { AuditEvent, Claims, ClusterState } from '../domain/model.js';
import type { IntegrationStore, SilenceRecord } from '../store/integrations.js';
import type { Store } from '../store/store.js';
import type { Alertmanager } from './alertmanager.js';

/** Longer than one attempt's calls (a list, then a create or an expiry, 2.5 s each): a crashed holder's lease lapses. */
const LEASE_MS = 30_000;

export interface SilenceDeps {
  store: Pick<Store, 'readCluster' | 'listClusters'>;
  integrations: IntegrationStore;
  alertmanager: Alertmanager;
  now: () => number;
}

export interface SilenceStats {
  /** Records brought in line with Alertmanager. */
  synced: number;
  /** Records Alertmanager could not be brought in line with (left pending). */
  failed: number;
}

/** An event's position in the cluster's log, for "an older event changes nothing". */
const eventPosition = (e: Pick<AuditEvent, 'revision' | 'seq'>) => e.revision * 1000 + e.seq;

const iso = (ms: number) => new Date(ms).toISOString();

/** Whether Alertmanager lags what the record wants. */
function needsSync(record: SilenceRecord, now: number): boolean {
  if (record.ended) return !record.expired;
  if (record.until !== undefined && record.until <= now) return false; // ending: its end event expires it
  return (
    !record.silenceId ||
    wantedEnd(record.until, record.endsAt, now) !== undefined ||
    record.comment !== silenceComment(record.cluster, record) ||
    !sameMatchers(record)
  );
}

/** Whether Alertmanager has the matchers the record wants (a server's new address changes them). */
const sameMatchers = (record: SilenceRecord) =>
  record.sentMatchers === undefined || JSON.stringify(record.sentMatchers) === JSON.stringify(record.matchers);

/** A silence an earlier attempt made but could not record (it crashed, or lost the answer): found by its marker. */
async function findMade(deps: SilenceDeps, record: SilenceRecord) {
  const marker = commentMarker(record.cluster, record.key);
  return (await deps.alertmanager.list()).find((s) => s.status.state !== 'expired' && s.comment.endsWith(marker));
}

/** The Alertmanager calls one record needs; what to record of them. */
async function apply(deps: SilenceDeps, record: SilenceRecord, now: number): Promise<Partial<SilenceRecord>> {
  if (record.ended) {
    const id = record.silenceId ?? (await findMade(deps, record))?.id;
    if (id) await deps.alertmanager.expire(id);
    return { expired: true };
  }
  if (record.until !== undefined && record.until <= now) return {};
  const comment = silenceComment(record.cluster, record);
  let { silenceId, startsAt, endsAt } = record;
  if (!silenceId) {
    const made = await findMade(deps, record);
    if (made) [silenceId, startsAt, endsAt] = [made.id, Date.parse(made.startsAt), Date.parse(made.endsAt)];
  }
  const end = wantedEnd(record.until, endsAt, now) ?? endsAt!;
  if (silenceId && end === endsAt && comment === record.comment && sameMatchers(record))
    return { silenceId, startsAt, endsAt };
  // An update keeps the start: Alertmanager then changes the silence in place rather than replacing it.
  const start = silenceId && startsAt !== undefined ? startsAt : now;
  const id = await deps.alertmanager.upsert({
    ...(silenceId && { id: silenceId }),
    matchers: record.matchers,
    startsAt: iso(start),
    endsAt: iso(end),
    createdBy: record.actor,
    comment,
  });
  return { silenceId: id, startsAt: start, endsAt: end, comment, sentMatchers: record.matchers };
}

/**
 * Brings one record's silence in line, under its lease (another consumer holding it: nothing to do here, it
 * will). Loops while the record changed during the calls (a newer event came in meanwhile).
 */
async function syncSilence(deps: SilenceDeps, cluster: string, key: string): Promise<'synced' | 'failed' | 'busy'> {
  for (let round = 0; round < 3; round++) {
    const now = deps.now();
    const record = await deps.integrations.leaseSilence(cluster, key, now, LEASE_MS);
    if (!record) return 'busy';
    if (!needsSync(record, now)) {
      await deps.integrations.settleSilence(record, {}, now);
      return 'synced';
    }
    try {
      const changes = await apply(deps, record, now);
      const after = await deps.integrations.settleSilence(record, changes, deps.now());
      if (!needsSync(after, deps.now())) return 'synced';
    } catch (error) {
      await deps.integrations.settleSilence(
        record,
        {
          lastError: (error as Error).message,
          attempts: (record.attempts ?? 0) + 1,
          failingSince: record.failingSince ?? now,
        },
        deps.now(),
      );
      return 'failed';
    }
  }
  return 'synced';
}

async function syncAll(deps: SilenceDeps, keys: Iterable<[string, string]>): Promise<SilenceStats> {
  const stats: SilenceStats = { synced: 0, failed: 0 };
  for (const [cluster, key] of keys) {
    const result = await syncSilence(deps, cluster, key);
    if (result === 'synced') stats.synced++;
    if (result === 'failed') stats.failed++;
  }
  return stats;
}

/** One audit event: the silences it starts, changes or ends. */
export async function silencesForEvent(deps: SilenceDeps, event: AuditEvent): Promise<SilenceStats> {
  const cluster = event.cluster;
  const touched = new Map<string, [string, string]>();
  if (event.action === 'remove-cluster') {
    // Its servers' and dcs' claims go with it, without events of their own. Only those it removed: a late
    // redelivery must not end the claims of a cluster registered again under the name since.
    for (const record of await deps.integrations.listSilences(cluster)) {
      if (record.ended || record.since > event.at) continue;
      await deps.integrations.endSilence(cluster, record);
      touched.set(record.key, [cluster, record.key]);
    }
    return syncAll(deps, touched.values());
  }
  const { live, ended } = claimChanges(event);
  if (live.length === 0 && ended.length === 0) return { synced: 0, failed: 0 };
  const template = await deps.integrations.silenceTemplate(cluster);
  for (const claim of ended) {
    const known = await deps.integrations.endSilence(cluster, claim, !template);
    if (known) touched.set(claimKey(claim), [cluster, claimKey(claim)]);
  }
  const kind = targetKind(event.target);
  const matcherTemplate = kind && template?.[kind];
  if (matcherTemplate) {
    const matchers = renderMatchers(matcherTemplate, templateValues(cluster, event.target, event.after));
    for (const claim of matchers ? live : []) {
      await deps.integrations.wantSilence(cluster, claim, matchers!, eventPosition(event));
      touched.set(claimKey(claim), [cluster, claimKey(claim)]);
    }
  }
  return syncAll(deps, touched.values());
}

function claimsOf(state: ClusterState | undefined, target: string): Claims {
  if (!state) return {};
  if (target === 'cluster') return state.cluster.claims;
  const name = target.slice(target.indexOf(':') + 1);
  return (target.startsWith('server:') ? state.servers.get(name) : state.dcs.get(name))?.claims ?? {};
}

/**
 * The every-minute pass: retries what failed (a removed cluster's too), renews rolling ends, and ends the
 * silences whose claim is gone from the cluster (an end event lost for good). Answers what it did, and how many
 * records are still pending after it (the metric the alarm watches).
 */
export async function reconcileSilences(deps: SilenceDeps): Promise<SilenceStats & { pending: number }> {
  const keys = new Map<string, [string, string]>();
  for (const { cluster, key } of await deps.integrations.pendingSilences())
    keys.set(`${cluster}/${key}`, [cluster, key]);
  for (const { id: cluster } of await deps.store.listClusters()) {
    const records = (await deps.integrations.listSilences(cluster)).filter((r) => !r.expired);
    if (records.length === 0) continue;
    const state = records.some((r) => !r.ended) ? await deps.store.readCluster(cluster) : undefined;
    const now = deps.now();
    for (const record of records) {
      const claim = claimsOf(state, record.target)[record.holder];
      const gone = !claim || claim.since !== record.since || claim.mode !== 'maintenance';
      if (!record.ended && gone) await deps.integrations.endSilence(cluster, record);
      if (needsSync(record, now) || (!record.ended && gone))
        keys.set(`${cluster}/${record.key}`, [cluster, record.key]);
    }
  }
  const stats = await syncAll(deps, keys.values());
  return { ...stats, pending: (await deps.integrations.pendingSilences()).length };
}
