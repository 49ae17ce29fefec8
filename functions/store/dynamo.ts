/** The one Store implementation: DynamoDB, single table (see keys.ts). */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { staleness, transitionTimes, type Staleness } from '../domain/derive.js';
import { DomainError, invalid } from '../domain/errors.js';
import type { AgentLease } from '../domain/agent-lease.js';
import type { AuditEvent, Cluster, ClusterState, Datacenter, Server } from '../domain/model.js';
import type { NodeProgress, Rollout, RolloutSnapshot } from '../domain/rollout/model.js';
import type { MaintenanceWindow } from '../domain/windows.js';
import type { RoutineCondition, StatusReport } from '../domain/status.js';
import * as K from './keys.js';
import type {
  ClusterHeader,
  EventQuery,
  IdempotencyScope,
  MutateOptions,
  MutateResult,
  RolloutRead,
  Store,
  StoredOutcome,
  TokenRecord,
} from './store.js';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** How often a mutation that lost a race re-reads and tries again before answering 409. */
const MAX_ATTEMPTS = 12;

const strip = <T>(item: Item): T => {
  const { [K.PK]: _pk, [K.SK]: _sk, kind: _kind, transitions: _t, staleness: _s, ...rest } = item;
  return rest as T;
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

class LostRace extends Error {}
class IdempotencyHit extends Error {}

export class DynamoStore implements Store {
  private readonly doc: DynamoDBDocumentClient;
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    client: DynamoDBClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async readCluster(id: string): Promise<ClusterState | undefined> {
    return (await this.readPartition(id)).state;
  }

  /**
   * The partition as stored: the live cluster, or the revision a removed cluster left in its tombstone, so a
   * cluster registered again under the same id carries on its revisions (and its audit log) without a clash.
   */
  private async readPartition(id: string): Promise<{ state?: ClusterState; revision: number }> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': K.PK },
      ExpressionAttributeValues: { ':pk': K.clusterPk(id) },
      ConsistentRead: true,
    });
    let cluster: Cluster | undefined;
    let removedAt = 0;
    const dcs = new Map<string, Datacenter>();
    const servers = new Map<string, Server>();
    for (const item of items) {
      if (item.kind === 'cluster') cluster = strip<Cluster>(item);
      else if (item.kind === 'removed') removedAt = item.revision as number;
      else if (item.kind === 'dc') dcs.set(item.name as string, strip<Datacenter>(item));
      else if (item.kind === 'server') servers.set(item.name as string, strip<Server>(item));
    }
    return cluster ? { state: { cluster, dcs, servers }, revision: cluster.revision } : { revision: removedAt };
  }

  async readClusterHeader(id: string): Promise<ClusterHeader | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { [K.PK]: K.clusterPk(id), [K.SK]: K.CLUSTER_SK },
        ConsistentRead: true,
        ProjectionExpression: 'kind, revision, staleAfterSeconds, transitions, staleness, rollout',
      }),
    );
    if (Item?.kind !== 'cluster') return undefined;
    return {
      revision: Item.revision as number,
      staleAfterSeconds: Item.staleAfterSeconds as number,
      transitions: (Item.transitions as number[] | undefined) ?? [],
      ...(Item.staleness !== undefined && { staleness: Item.staleness as Staleness }),
      ...(Item.rollout !== undefined && { rollout: Item.rollout as string }),
    };
  }

  async writeStaleness(id: string, revision: number, found: Staleness): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { [K.PK]: K.clusterPk(id), [K.SK]: K.CLUSTER_SK },
          UpdateExpression: 'SET #s = :s',
          ConditionExpression: '#rev = :rev',
          ExpressionAttributeNames: { '#s': 'staleness', '#rev': 'revision' },
          ExpressionAttributeValues: { ':s': found, ':rev': revision },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async listClusters(): Promise<Cluster[]> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': K.PK },
      ExpressionAttributeValues: { ':pk': K.CLUSTERS_PK },
    });
    return items.map((i) => strip<Cluster>(i));
  }

  /**
   * Mutations of one cluster made by this process run one at a time: they would only race each other for the
   * same revision. Other processes are still kept out by the conditional write.
   */
  async mutate<R>(
    id: string,
    decide: (state: ClusterState | undefined, rollout?: RolloutSnapshot, window?: MaintenanceWindow) => StoredOutcome,
    options: MutateOptions<R>,
  ): Promise<MutateResult<R>> {
    if (options.dryRun) return this.attemptMutation(id, decide, options);
    const run = (this.queues.get(id) ?? Promise.resolve()).then(() => this.attemptMutation(id, decide, options));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(id, settled);
    void settled.then(() => this.queues.get(id) === settled && this.queues.delete(id));
    return run;
  }

  private async attemptMutation<R>(
    id: string,
    decide: (state: ClusterState | undefined, rollout?: RolloutSnapshot, window?: MaintenanceWindow) => StoredOutcome,
    options: MutateOptions<R>,
  ): Promise<MutateResult<R>> {
    for (let attempt = 1; ; attempt++) {
      const [{ state, revision: readRevision }, rollout, window] = await Promise.all([
        this.readPartition(id),
        options.rollout && this.readRollout(id, options.rollout.id, options.rollout.nodes),
        options.window !== undefined ? this.readWindow(id, options.window) : undefined,
      ]);
      let outcome: StoredOutcome;
      try {
        outcome = decide(state, rollout, window);
      } catch (error) {
        // A retry of a request that was applied may now be refused by the rules: the first answer stands.
        const replay = options.idempotency && (await this.findIdempotentResult<R>(options.idempotency));
        if (replay !== undefined) return { replayed: true, result: replay };
        throw error;
      }
      if (outcome.events.length > 0 && !outcome.removed) {
        // The answer shows the revision this change will have.
        outcome = {
          ...outcome,
          next: { ...outcome.next, cluster: { ...outcome.next.cluster, revision: readRevision + 1 } },
        };
      }
      const result = options.result(outcome);
      if (options.dryRun) return { replayed: false, outcome, result };
      try {
        const rolloutItems = [
          ...(outcome.rollout ? this.rolloutItems(id, rollout, outcome.rollout) : []),
          ...(outcome.window !== undefined && outcome.window !== window
            ? [this.windowItem(id, window, outcome.window)]
            : []),
        ];
        if (outcome.next === state && !outcome.removed && rolloutItems.length === 0) {
          if (options.idempotency) await this.putIdempotency(options.idempotency, result);
        } else {
          await this.write(id, state, readRevision, outcome, options, result, rolloutItems);
        }
        return { replayed: false, outcome, result };
      } catch (error) {
        if (error instanceof IdempotencyHit)
          return { replayed: true, result: await this.replay<R>(options.idempotency!) };
        if (!(error instanceof LostRace)) throw error;
        if (attempt >= MAX_ATTEMPTS)
          throw new DomainError('Conflict', 'the cluster changed concurrently too often; try again');
        await sleep(Math.random() * Math.min(200, 5 * 2 ** attempt));
      }
    }
  }

  async writeRoutineReport(
    cluster: string,
    server: string,
    report: StatusReport,
    condition: RoutineCondition,
    now: number,
  ): Promise<boolean> {
    const names: Record<string, string> = { '#health': 'health', '#reportedAt': 'reportedAt', '#sk': K.SK };
    const values: Record<string, unknown> = { ':health': report.health, ':now': now };
    const sets = ['#health = :health', '#reportedAt = :now'];
    const conditions = ['attribute_exists(#sk)', '#health = :health', '#reportedAt >= :reportedSince'];
    values[':reportedSince'] = condition.reportedSince;
    for (const key of [
      'role',
      'connections',
      'openTransactions',
      'version',
      'replicationLagSeconds',
      'proxy',
    ] as const) {
      if (report[key] === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = report[key];
      sets.push(`#${key} = :${key}`);
    }
    if (condition.role !== undefined) conditions.push('#role = :role');
    if (condition.version !== undefined) conditions.push('#version = :version');
    for (const [key, positive] of [
      ['connections', condition.connectionsPositive],
      ['openTransactions', condition.openTransactionsPositive],
    ] as const) {
      if (positive === undefined) continue;
      values[':zero'] = 0;
      conditions.push(positive ? `#${key} > :zero` : `(attribute_not_exists(#${key}) OR #${key} = :zero)`);
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { [K.PK]: K.clusterPk(cluster), [K.SK]: K.serverSk(server) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async findIdempotentResult<R>(scope: IdempotencyScope): Promise<R | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { [K.PK]: K.idempotencyPk(scope.id), [K.SK]: K.ITEM_SK },
        ConsistentRead: true,
      }),
    );
    if (!Item || (Item[K.TTL_ATTRIBUTE] as number) * 1000 <= this.now()) return undefined;
    if (Item.requestHash !== scope.requestHash) {
      throw new DomainError('IdempotencyKeyReused', 'this Idempotency-Key was used with a different request');
    }
    return Item.result as R;
  }

  async listEvents(cluster: string, query: EventQuery): Promise<{ events: AuditEvent[]; cursor?: string }> {
    const filters: string[] = [];
    const names: Record<string, string> = { '#pk': K.PK };
    const values: Record<string, unknown> = { ':pk': K.eventsPk(cluster) };
    const filter = (attribute: string, operator: string, value: unknown) => {
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      filters.push(`#${attribute} ${operator} :${attribute}`);
    };
    if (query.since !== undefined) filter('at', '>=', query.since);
    if (query.target !== undefined) filter('target', '=', query.target);
    if (query.action !== undefined) filter('action', '=', query.action);
    let startKey: Record<string, unknown> | undefined =
      query.cursor === undefined ? undefined : { [K.PK]: K.eventsPk(cluster), [K.SK]: decodeCursor(query.cursor) };
    const events: AuditEvent[] = [];
    // A filter may drop most of a page: keep reading, within a bound, until the page is full.
    for (let page = 0; page < 20 && events.length < query.limit; page++) {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk',
          ...(filters.length > 0 && { FilterExpression: filters.join(' AND ') }),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: filters.length > 0 ? Math.max(query.limit, 100) : query.limit - events.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        if (events.length === query.limit) return { events, cursor: encodeCursor(events.at(-1)!) };
        events.push(strip<AuditEvent>(item));
      }
      startKey = out.LastEvaluatedKey;
      if (!startKey) return { events };
    }
    return events.length > 0
      ? { events, cursor: encodeCursor(events.at(-1)!) }
      : { events, cursor: Buffer.from(String(startKey![K.SK])).toString('base64url') };
  }

  async holdAgentLease(cluster: string, lease: AgentLease, now: number): Promise<AgentLease> {
    const Key = { [K.PK]: K.agentLeasePk(cluster), [K.SK]: K.ITEM_SK };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          // An hour past its end, DynamoDB's TTL removes a lease nobody renews.
          Item: {
            ...Key,
            holder: lease.holder,
            until: lease.until,
            [K.TTL_ATTRIBUTE]: Math.ceil(lease.until / 1000) + 3600,
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #holder = :holder OR #until <= :now',
          ExpressionAttributeNames: { '#pk': K.PK, '#holder': 'holder', '#until': 'until' },
          ExpressionAttributeValues: { ':holder': lease.holder, ':now': now },
        }),
      );
      return lease;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }));
      return Item
        ? { holder: Item.holder as string, until: Item.until as number }
        : await this.holdAgentLease(cluster, lease, now);
    }
  }

  async putToken(token: TokenRecord): Promise<void> {
    await this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table,
              Item: { [K.PK]: K.tokenPk(token.hash), [K.SK]: K.ITEM_SK, ...token },
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': K.PK },
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: { [K.PK]: K.TOKENS_PK, [K.SK]: token.id, ...token },
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': K.PK },
            },
          },
        ],
      }),
    );
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { [K.PK]: K.tokenPk(hash), [K.SK]: K.ITEM_SK } }),
    );
    return Item && strip<TokenRecord>(Item);
  }

  async listTokens(): Promise<TokenRecord[]> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': K.PK },
      ExpressionAttributeValues: { ':pk': K.TOKENS_PK },
      ConsistentRead: true,
    });
    return items.map((i) => strip<TokenRecord>(i));
  }

  async revokeToken(id: string, check?: (token: TokenRecord, all: readonly TokenRecord[]) => void): Promise<boolean> {
    const versionKey = { [K.PK]: K.TOKENS_VERSION_PK, [K.SK]: K.ITEM_SK };
    for (let attempt = 1; ; attempt++) {
      const [{ Item: versionItem }, all] = await Promise.all([
        this.doc.send(new GetCommand({ TableName: this.table, Key: versionKey, ConsistentRead: true })),
        this.listTokens(),
      ]);
      const token = all.find((t) => t.id === id);
      if (!token) return false;
      check?.(token, all);
      const version = (versionItem?.version as number | undefined) ?? 0;
      try {
        await this.doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: this.table,
                  Key: { [K.PK]: K.TOKENS_PK, [K.SK]: id },
                  ConditionExpression: 'attribute_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': K.PK },
                },
              },
              { Delete: { TableName: this.table, Key: { [K.PK]: K.tokenPk(token.hash), [K.SK]: K.ITEM_SK } } },
              {
                Put: {
                  TableName: this.table,
                  Item: { ...versionKey, version: version + 1 },
                  ConditionExpression: 'attribute_not_exists(#pk) OR #v = :v',
                  ExpressionAttributeNames: { '#pk': K.PK, '#v': 'version' },
                  ExpressionAttributeValues: { ':v': version },
                },
              },
            ],
          }),
        );
        return true;
      } catch (error) {
        const lostRace =
          error instanceof TransactionCanceledException || (error as Error).name === 'TransactionConflictException';
        if (!lostRace) throw error;
        if (attempt >= MAX_ATTEMPTS)
          throw new DomainError('Conflict', 'tokens changed concurrently too often; try again');
        await sleep(Math.random() * Math.min(200, 5 * 2 ** attempt));
      }
    }
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let ExclusiveStartKey: QueryCommandInput['ExclusiveStartKey'];
    do {
      const out = await this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey }));
      items.push(...(out.Items ?? []));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  private idempotencyItem(scope: IdempotencyScope, result: unknown): TransactItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          [K.PK]: K.idempotencyPk(scope.id),
          [K.SK]: K.ITEM_SK,
          requestHash: scope.requestHash,
          result,
          [K.TTL_ATTRIBUTE]: Math.floor(this.now() / 1000) + K.IDEMPOTENCY_HOURS * 3600,
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :nowSeconds',
        ExpressionAttributeNames: { '#pk': K.PK, '#ttl': K.TTL_ATTRIBUTE },
        ExpressionAttributeValues: { ':nowSeconds': Math.floor(this.now() / 1000) },
      },
    };
  }

  private async putIdempotency(scope: IdempotencyScope, result: unknown): Promise<void> {
    try {
      await this.doc.send(new PutCommand(this.idempotencyItem(scope, result).Put!));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new IdempotencyHit();
      throw error;
    }
  }

  private async replay<R>(scope: IdempotencyScope): Promise<R> {
    const result = await this.findIdempotentResult<R>(scope);
    if (result === undefined)
      throw new DomainError('Conflict', 'a concurrent request with this Idempotency-Key is in flight; try again');
    return result;
  }

  /** One transaction: the cluster item (revision bump, conditional), what changed, the events, the idempotency record. */
  private async write(
    id: string,
    current: ClusterState | undefined,
    readRevision: number,
    outcome: StoredOutcome,
    { actor, idempotency }: MutateOptions<unknown>,
    result: unknown,
    rolloutItems: TransactItem[],
  ): Promise<void> {
    const { next } = outcome;
    const pk = K.clusterPk(id);
    const revision = readRevision + 1;
    const at = this.now();
    const items: TransactItem[] = [];
    const T = this.table;
    const revisionCondition: {
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues?: Record<string, unknown>;
    } =
      readRevision > 0
        ? {
            ConditionExpression: '#rev = :rev',
            ExpressionAttributeNames: { '#rev': 'revision' },
            ExpressionAttributeValues: { ':rev': readRevision },
          }
        : { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': K.PK } };

    if (outcome.removed) {
      items.push({
        Put: {
          TableName: T,
          Item: { [K.PK]: pk, [K.SK]: K.CLUSTER_SK, kind: 'removed', revision },
          ...revisionCondition,
        },
      });
      items.push({ Delete: { TableName: T, Key: { [K.PK]: K.CLUSTERS_PK, [K.SK]: id } } });
    } else {
      const bump = outcome.events.length > 0;
      const cluster = next.cluster;
      // A change without events (a routine report found by the full path) leaves the revision alone but is
      // still conditional on it, so it cannot have missed a routing-relevant change.
      if (bump)
        items.push({
          Put: {
            TableName: T,
            Item: {
              [K.PK]: pk,
              [K.SK]: K.CLUSTER_SK,
              kind: 'cluster',
              ...cluster,
              transitions: transitionTimes(next),
              staleness: staleness(next, at),
            },
            ...revisionCondition,
          },
        });
      else
        items.push({
          ConditionCheck: { TableName: T, Key: { [K.PK]: pk, [K.SK]: K.CLUSTER_SK }, ...revisionCondition },
        });
      if (
        !current ||
        current.cluster.engine !== cluster.engine ||
        JSON.stringify(current.cluster.budget) !== JSON.stringify(cluster.budget) ||
        current.cluster.staleAfterSeconds !== cluster.staleAfterSeconds
      ) {
        const { claims: _c, pendingSwitchover: _p, rollout: _r, ...registry } = cluster;
        items.push({ Put: { TableName: T, Item: { [K.PK]: K.CLUSTERS_PK, [K.SK]: id, ...registry } } });
      }
      const before = current ?? { servers: new Map<string, Server>(), dcs: new Map<string, Datacenter>() };
      for (const [name, server] of next.servers) {
        const old = before.servers.get(name);
        if (old === server) continue;
        items.push(
          old
            ? this.updateServer(pk, old, server)
            : { Put: { TableName: T, Item: { [K.PK]: pk, [K.SK]: K.serverSk(name), kind: 'server', ...server } } },
        );
      }
      for (const name of before.servers.keys()) {
        if (!next.servers.has(name))
          items.push({ Delete: { TableName: T, Key: { [K.PK]: pk, [K.SK]: K.serverSk(name) } } });
      }
      for (const [name, dc] of next.dcs) {
        if (before.dcs.get(name) === dc) continue;
        items.push({ Put: { TableName: T, Item: { [K.PK]: pk, [K.SK]: K.dcSk(name), kind: 'dc', ...dc } } });
      }
    }
    outcome.events.forEach((draft, seq) => {
      const auditEvent: AuditEvent = {
        ...draft,
        cluster: id,
        revision,
        seq,
        at,
        actor: actor.user,
        source: actor.source,
        requestId: actor.requestId,
      };
      items.push({
        Put: {
          TableName: T,
          Item: { [K.PK]: K.eventsPk(id), [K.SK]: K.eventSk(revision, seq), ...auditEvent },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': K.PK },
        },
      });
    });
    items.push(...rolloutItems);
    if (idempotency) items.push(this.idempotencyItem(idempotency, result));

    const input: TransactWriteCommandInput = { TransactItems: items };
    // A deterministic token: the SDK's own retry of a lost response is then recognised, not applied twice.
    input.ClientRequestToken = sha256(JSON.stringify(items)).slice(0, 36);
    try {
      await this.doc.send(new TransactWriteCommand(input));
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        if (idempotency && reasons.at(-1)?.Code === 'ConditionalCheckFailed') throw new IdempotencyHit();
        if (reasons.some((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict'))
          throw new LostRace();
      }
      if (
        (error as Error).name === 'TransactionConflictException' ||
        (error as Error).name === 'IdempotentParameterMismatchException'
      )
        throw new LostRace();
      throw error;
    }
    if (outcome.removed) {
      await this.deletePartition(pk);
      // Its windows and its agent lease go with it: none fires, or holds, for a cluster that comes back with its name.
      await this.deletePartition(K.windowsPk(id));
      await this.deletePartition(K.agentLeasePk(id));
    }
  }

  /**
   * The rollout's changed items, each conditional on the version read (or on being new), so a concurrent step
   * or operator's control of the same rollout makes this attempt a lost race that re-reads.
   */
  private rolloutItems(
    cluster: string,
    readSnapshot: RolloutSnapshot | undefined,
    next: RolloutSnapshot,
  ): TransactItem[] {
    const T = this.table;
    // A change may write another rollout than the one it read (a window's next occurrence creates a new one).
    const read = readSnapshot?.rollout.id === next.rollout.id ? readSnapshot : undefined;
    const items: TransactItem[] = [];
    const versioned = <V extends { version: number }>(Key: Item, value: V, stored: V | undefined): TransactItem => ({
      Put: {
        TableName: T,
        Item: { ...Key, ...value, version: (stored?.version ?? 0) + 1 },
        ...(stored
          ? {
              ConditionExpression: '#v = :v',
              ExpressionAttributeNames: { '#v': 'version' },
              ExpressionAttributeValues: { ':v': stored.version },
            }
          : { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': K.PK } }),
      },
    });
    const { rollout } = next;
    if (rollout !== read?.rollout) {
      items.push(
        versioned({ [K.PK]: K.rolloutsPk(cluster), [K.SK]: rollout.id, kind: 'rollout' }, rollout, read?.rollout),
      );
    }
    if (next.plan && next.plan !== read?.plan) {
      items.push({
        Put: {
          TableName: T,
          Item: { [K.PK]: K.rolloutPk(cluster, rollout.id), [K.SK]: K.PLAN_SK, kind: 'plan', batches: next.plan },
        },
      });
    }
    for (const [server, node] of next.nodes) {
      const stored = read?.nodes.get(server);
      if (node !== stored)
        items.push(
          versioned({ [K.PK]: K.rolloutPk(cluster, rollout.id), [K.SK]: K.nodeSk(server), kind: 'node' }, node, stored),
        );
    }
    return items;
  }

  /** The window as decided, conditional on the version read (or on being new); null deletes it. */
  private windowItem(
    cluster: string,
    read: MaintenanceWindow | undefined,
    next: MaintenanceWindow | null,
  ): TransactItem {
    const condition: {
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues?: Record<string, unknown>;
    } = read
      ? {
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': read.version },
        }
      : { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': K.PK } };
    const id = (next ?? read)!.id;
    if (next === null)
      return { Delete: { TableName: this.table, Key: { [K.PK]: K.windowsPk(cluster), [K.SK]: id }, ...condition } };
    return {
      Put: {
        TableName: this.table,
        Item: { [K.PK]: K.windowsPk(cluster), [K.SK]: id, kind: 'window', ...next, version: (read?.version ?? 0) + 1 },
        ...condition,
      },
    };
  }

  async readWindow(cluster: string, id: string): Promise<MaintenanceWindow | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { [K.PK]: K.windowsPk(cluster), [K.SK]: id },
        ConsistentRead: true,
      }),
    );
    return Item ? strip<MaintenanceWindow>(Item) : undefined;
  }

  async listWindows(cluster: string): Promise<MaintenanceWindow[]> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': K.PK },
      ExpressionAttributeValues: { ':pk': K.windowsPk(cluster) },
      ConsistentRead: true,
    });
    return items.map((i) => strip<MaintenanceWindow>(i));
  }

  async readRollout(
    cluster: string,
    id: string,
    nodes: RolloutRead['nodes'] = 'all',
  ): Promise<RolloutSnapshot | undefined> {
    const pk = K.rolloutPk(cluster, id);
    const header = this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { [K.PK]: K.rolloutsPk(cluster), [K.SK]: id },
        ConsistentRead: true,
      }),
    );
    const items =
      nodes === 'all'
        ? this.queryAll({
            TableName: this.table,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': K.PK },
            ExpressionAttributeValues: { ':pk': pk },
            ConsistentRead: true,
          })
        : Promise.all(
            nodes.map(
              async (server) =>
                (
                  await this.doc.send(
                    new GetCommand({
                      TableName: this.table,
                      Key: { [K.PK]: pk, [K.SK]: K.nodeSk(server) },
                      ConsistentRead: true,
                    }),
                  )
                ).Item,
            ),
          ).then((found) => found.filter((i): i is Item => i !== undefined));
    const [{ Item }, parts] = await Promise.all([header, items]);
    if (!Item) return undefined;
    const snapshot: { rollout: Rollout; plan?: string[][]; nodes: Map<string, NodeProgress> } = {
      rollout: strip<Rollout>(Item),
      nodes: new Map(),
    };
    for (const part of parts) {
      if (part.kind === 'plan') snapshot.plan = part.batches as string[][];
      else snapshot.nodes.set(part.server as string, strip<NodeProgress>(part));
    }
    return snapshot;
  }

  async listRollouts(
    cluster: string,
    query: { limit: number; cursor?: string },
  ): Promise<{ rollouts: Rollout[]; cursor?: string }> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': K.PK },
        ExpressionAttributeValues: { ':pk': K.rolloutsPk(cluster) },
        ScanIndexForward: false,
        Limit: query.limit,
        ...(query.cursor && {
          ExclusiveStartKey: { [K.PK]: K.rolloutsPk(cluster), [K.SK]: decodeRolloutCursor(query.cursor) },
        }),
      }),
    );
    const rollouts = (out.Items ?? []).map((i) => strip<Rollout>(i));
    const last = out.LastEvaluatedKey?.[K.SK] as string | undefined;
    return { rollouts, ...(last && { cursor: Buffer.from(last).toString('base64url') }) };
  }

  /** Only the attributes the mutation changed: a concurrent routine report's counters must survive. */
  private updateServer(pk: string, old: Server, server: Server): TransactItem {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    const keys = new Set([...Object.keys(old), ...Object.keys(server)]) as Set<keyof Server>;
    let i = 0;
    for (const key of keys) {
      if (JSON.stringify(old[key]) === JSON.stringify(server[key])) continue;
      names[`#a${i}`] = key;
      if (server[key] === undefined) removes.push(`#a${i}`);
      else {
        values[`:a${i}`] = server[key];
        sets.push(`#a${i} = :a${i}`);
      }
      i++;
    }
    const expression = [
      sets.length ? `SET ${sets.join(', ')}` : '',
      removes.length ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .join(' ')
      .trim();
    return {
      Update: {
        TableName: this.table,
        Key: { [K.PK]: pk, [K.SK]: K.serverSk(server.name) },
        UpdateExpression: expression || 'SET #a0 = :a0',
        ExpressionAttributeNames: expression ? names : { '#a0': 'name' },
        ExpressionAttributeValues: expression
          ? Object.keys(values).length
            ? values
            : undefined
          : { ':a0': server.name },
      },
    };
  }

  /** After a cluster's removal: its dc and server items, 25 to a batch (the tombstone stays). */
  private async deletePartition(pk: string): Promise<void> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': K.PK, '#sk': K.SK },
      ExpressionAttributeValues: { ':pk': pk },
      ProjectionExpression: '#pk, #sk',
    });
    const keys = items.filter((i) => i[K.SK] !== K.CLUSTER_SK).map((i) => ({ [K.PK]: i[K.PK], [K.SK]: i[K.SK] }));
    for (let start = 0; start < keys.length; start += 25) {
      let requests = keys.slice(start, start + 25).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length > 0 && attempt < 10; attempt++) {
        const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
        if (requests.length > 0) await sleep(50 * 2 ** attempt);
      }
    }
  }
}

function encodeCursor(event: Pick<AuditEvent, 'revision' | 'seq'>): string {
  return Buffer.from(K.eventSk(event.revision, event.seq)).toString('base64url');
}

function decodeRolloutCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw invalid('invalid cursor');
  return id;
}

function decodeCursor(cursor: string): string {
  const sk = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!K.EVENT_SK.test(sk)) throw invalid('invalid cursor');
  return sk;
}
