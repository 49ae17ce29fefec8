/**
 * What the change-event consumers keep (issue 17 #3, #4), in the same table, outside the clusters' partitions (a
 * silence's bookkeeping is no routing change): each cluster's settings, one record per maintenance claim's silence,
 * and the cluster's recent webhook deliveries. Every write is conditional where a redelivered or concurrent event
 * could otherwise act twice.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ClaimRef, Matcher, SilenceTemplate } from '../domain/silences.js';
import { claimKey } from '../domain/silences.js';
import { PK, SK, TTL_ATTRIBUTE } from './keys.js';

const integrationsPk = (cluster: string) => `INTEGRATIONS#${cluster}`;
const SILENCE_SETTINGS_SK = '#SILENCES';
const NOTIFICATION_SETTINGS_SK = '#NOTIFICATIONS';
const silencesPk = (cluster: string) => `SILENCES#${cluster}`;
/** Silences whose last attempt failed, across clusters: the reconciler finds them even for a removed cluster. */
const SILENCES_PENDING_PK = 'SILENCES#PENDING';
const deliveriesPk = (cluster: string) => `DELIVERIES#${cluster}`;

/** A settled silence record, and a delivery, are kept this long (DynamoDB's TTL). */
const KEEP_SECONDS = 7 * 86400;

export interface NotificationTarget {
  url: string;
  actions: string[];
}

export interface SilenceRecord {
  cluster: string;
  /** `claimKey`: target#holder#since. */
  key: string;
  target: string;
  holder: string;
  since: number;
  actor: string;
  reason?: string;
  until?: number;
  matchers: Matcher[];
  /** The position (revision, seq) of the audit event that last set what is wanted: an older event undoes nothing. */
  position: number;
  /** The claim has ended: the silence is to expire. */
  ended?: boolean;
  /** What Alertmanager has: the silence's id, its start, end and comment as sent, and whether it was expired. */
  silenceId?: string;
  startsAt?: number;
  endsAt?: number;
  comment?: string;
  /** The matchers Alertmanager has (they change with a server's address). */
  sentMatchers?: Matcher[];
  expired?: boolean;
  /** While one consumer talks to Alertmanager for this record, nobody else does. */
  leaseUntil?: number;
  attempts?: number;
  lastError?: string;
  failingSince?: number;
}

export interface Delivery {
  cluster: string;
  id: string;
  url: string;
  action: string;
  target: string;
  revision: number;
  seq: number;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  createdAt: number;
  /** While pending: until when its consumer is taken to be sending it. */
  leaseUntil?: number;
  lastStatus?: number;
  lastError?: string;
  finishedAt?: number;
}

type Item = Record<string, unknown>;
const strip = <T>({ [PK]: _pk, [SK]: _sk, [TTL_ATTRIBUTE]: _ttl, ...rest }: Item): T => rest as T;
const conditionFailed = (e: unknown) => e instanceof ConditionalCheckFailedException;

/** `SET a = :a, …` and `REMOVE b` from an object, `undefined` meaning remove. */
function updateExpression(changes: Record<string, unknown>) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const set: string[] = [];
  const remove: string[] = [];
  Object.entries(changes).forEach(([k, v], i) => {
    names[`#u${i}`] = k;
    if (v === undefined) remove.push(`#u${i}`);
    else {
      values[`:u${i}`] = v;
      set.push(`#u${i} = :u${i}`);
    }
  });
  const expression = [set.length ? `SET ${set.join(', ')}` : '', remove.length ? `REMOVE ${remove.join(', ')}` : '']
    .filter(Boolean)
    .join(' ');
  return { expression, names, values };
}

export class IntegrationStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async silenceTemplate(cluster: string): Promise<SilenceTemplate | undefined> {
    const item = await this.get(integrationsPk(cluster), SILENCE_SETTINGS_SK);
    return item?.template as SilenceTemplate | undefined;
  }

  /** Undefined removes it (no more silences for the cluster; those made stay until their claims end). */
  async putSilenceTemplate(cluster: string, template: SilenceTemplate | undefined, by: string, now: number) {
    await this.putOrDelete(integrationsPk(cluster), SILENCE_SETTINGS_SK, template && { template, by, at: now });
  }

  async notificationTargets(cluster: string): Promise<NotificationTarget[]> {
    const item = await this.get(integrationsPk(cluster), NOTIFICATION_SETTINGS_SK);
    return (item?.targets as NotificationTarget[] | undefined) ?? [];
  }

  async putNotificationTargets(cluster: string, targets: NotificationTarget[], by: string, now: number) {
    await this.putOrDelete(
      integrationsPk(cluster),
      NOTIFICATION_SETTINGS_SK,
      targets.length ? { targets, by, at: now } : undefined,
    );
  }

  /**
   * A removed cluster's settings go with it (a cluster registered again under its name starts without them); only
   * those set before the removal, so a late redelivery of it leaves the new cluster's alone.
   */
  async removeSettings(cluster: string, removedAt: number): Promise<void> {
    for (const sk of [SILENCE_SETTINGS_SK, NOTIFICATION_SETTINGS_SK]) {
      try {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.table,
            Key: { [PK]: integrationsPk(cluster), [SK]: sk },
            ConditionExpression: 'attribute_not_exists(#at) OR #at <= :removedAt',
            ExpressionAttributeNames: { '#at': 'at' },
            ExpressionAttributeValues: { ':removedAt': removedAt },
          }),
        );
      } catch (error) {
        if (!conditionFailed(error)) throw error;
      }
    }
  }

  /**
   * Records that a claim wants a silence with these matchers: one item per claim, made by the first delivery of
   * the event; a later delivery (or an older event) changes nothing, and an ended claim is never revived.
   */
  async wantSilence(cluster: string, claim: ClaimRef, matchers: Matcher[], position: number): Promise<boolean> {
    const { expression, names, values } = updateExpression({
      cluster,
      key: claimKey(claim),
      target: claim.target,
      holder: claim.holder,
      since: claim.since,
      actor: claim.actor,
      reason: claim.reason,
      until: claim.until,
      matchers,
      position,
    });
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { [PK]: silencesPk(cluster), [SK]: claimKey(claim) },
          UpdateExpression: expression,
          ConditionExpression: '(attribute_not_exists(#pos) OR #pos < :pos) AND attribute_not_exists(#ended)',
          ExpressionAttributeNames: { ...names, '#pos': 'position', '#ended': 'ended' },
          ExpressionAttributeValues: { ...values, ':pos': position },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Records that a claim has ended. With no record yet (the end delivered before the start) this leaves a
   * tombstone, so the late start makes no silence; `onlyIfKnown`: not for a cluster that makes no silences.
   */
  async endSilence(
    cluster: string,
    claim: Pick<ClaimRef, 'target' | 'holder' | 'since'>,
    onlyIfKnown = false,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { [PK]: silencesPk(cluster), [SK]: claimKey(claim) },
          UpdateExpression: 'SET #ended = :true, #cluster = :cluster, #key = :key, #target = :target',
          ConditionExpression: onlyIfKnown
            ? 'attribute_exists(#key) AND attribute_not_exists(#ended)'
            : 'attribute_not_exists(#ended)',
          ExpressionAttributeNames: { '#ended': 'ended', '#cluster': 'cluster', '#key': 'key', '#target': 'target' },
          ExpressionAttributeValues: {
            ':true': true,
            ':cluster': cluster,
            ':key': claimKey(claim),
            ':target': claim.target,
          },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  /** Takes the record's lease (nobody else holds it): the record as it is now, or undefined. */
  async leaseSilence(cluster: string, key: string, now: number, leaseMs: number): Promise<SilenceRecord | undefined> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { [PK]: silencesPk(cluster), [SK]: key },
          UpdateExpression: 'SET #lease = :until',
          ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#lease) OR #lease < :now)',
          ExpressionAttributeNames: { '#lease': 'leaseUntil', '#pk': PK },
          ExpressionAttributeValues: { ':until': now + leaseMs, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<SilenceRecord>(out.Attributes!);
    } catch (error) {
      if (conditionFailed(error)) return undefined;
      throw error;
    }
  }

  /**
   * Writes what the lease holder did, and lets the lease go. A failure also lists the record as pending (the
   * reconciler's to retry); a success takes it off, and a settled record is kept a week, then removed by TTL.
   */
  async settleSilence(record: SilenceRecord, changes: Partial<SilenceRecord>, now: number): Promise<SilenceRecord> {
    const failing = changes.lastError !== undefined;
    const done = (record.ended || changes.ended) && changes.expired;
    const { expression, names, values } = updateExpression({
      ...changes,
      leaseUntil: undefined,
      ...(!failing && { lastError: undefined, attempts: undefined, failingSince: undefined }),
      [TTL_ATTRIBUTE]: done ? Math.floor(now / 1000) + KEEP_SECONDS : undefined,
    });
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { [PK]: silencesPk(record.cluster), [SK]: record.key },
        UpdateExpression: expression,
        ExpressionAttributeNames: names,
        ...(Object.keys(values).length && { ExpressionAttributeValues: values }),
        ReturnValues: 'ALL_NEW',
      }),
    );
    const pendingKey = { [PK]: SILENCES_PENDING_PK, [SK]: `${record.cluster}/${record.key}` };
    if (failing)
      await this.doc.send(
        new PutCommand({ TableName: this.table, Item: { ...pendingKey, cluster: record.cluster, key: record.key } }),
      );
    else if (record.attempts) await this.doc.send(new DeleteCommand({ TableName: this.table, Key: pendingKey }));
    return strip<SilenceRecord>(out.Attributes!);
  }

  async listSilences(cluster: string): Promise<SilenceRecord[]> {
    return (await this.queryAll(silencesPk(cluster))).map((i) => strip<SilenceRecord>(i));
  }

  /** Every silence whose last attempt failed: `{cluster, key}`. */
  async pendingSilences(): Promise<{ cluster: string; key: string }[]> {
    return (await this.queryAll(SILENCES_PENDING_PK)).map((i) => ({
      cluster: i.cluster as string,
      key: i.key as string,
    }));
  }

  /**
   * Takes a delivery for this consumer: false when another delivery of the same event already took it, unless that
   * one was left pending past its lease (its consumer crashed or timed out: the event's redelivery sends it).
   */
  async claimDelivery(delivery: Delivery): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            [PK]: deliveriesPk(delivery.cluster),
            [SK]: delivery.id,
            ...delivery,
            [TTL_ATTRIBUTE]: Math.floor(delivery.createdAt / 1000) + KEEP_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR (#status = :pending AND #lease < :now)',
          ExpressionAttributeNames: { '#pk': PK, '#status': 'status', '#lease': 'leaseUntil' },
          ExpressionAttributeValues: { ':pending': 'pending', ':now': delivery.createdAt },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async updateDelivery(delivery: Delivery): Promise<void> {
    const { cluster, id, ...rest } = delivery;
    const { expression, names, values } = updateExpression(rest);
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { [PK]: deliveriesPk(cluster), [SK]: id },
        UpdateExpression: expression,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** The cluster's latest deliveries, newest event first. */
  async listDeliveries(cluster: string, limit: number): Promise<Delivery[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':pk': deliveriesPk(cluster) },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((i) => strip<Delivery>(i));
  }

  private async get(pk: string, sk: string): Promise<Item | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { [PK]: pk, [SK]: sk }, ConsistentRead: true }),
    );
    return out.Item;
  }

  private async putOrDelete(pk: string, sk: string, item: Item | undefined): Promise<void> {
    const Key = { [PK]: pk, [SK]: sk };
    if (item) await this.doc.send(new PutCommand({ TableName: this.table, Item: { ...Key, ...item } }));
    else await this.doc.send(new DeleteCommand({ TableName: this.table, Key }));
  }

  private async queryAll(pk: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': PK },
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
