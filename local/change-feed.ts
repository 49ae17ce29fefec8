/**
 * The local change feed: what the pipe does on AWS, over DynamoDB Local's own stream of the table. It reads every
 * shard in order (a parent before its children), keeps the records the pipe's filter keeps (audit-event inserts),
 * and hands each, wrapped as the `maintenance.changed` event the pipe puts on the bus, to the same consumer the
 * AWS function runs. Why the stream and not a hook in the store: the consumer then sees exactly the records, with
 * the same keys and DynamoDB JSON, and the same at-least-once delivery, as on AWS; and no write path can bypass it.
 *
 * Positions are kept per shard (in a file when the stack persists its state), so a restart neither loses nor
 * replays what was already handed over; a record whose consumer threw is handed over again at the next poll.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type _Record,
  type Shard,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ChangeEvent, CHANGE_DETAIL_TYPE, CHANGE_SOURCE } from '../functions/integrations/consumer.js';
import { EVENT_SK_PREFIX, EVENTS_PK_PREFIX, PK, SK } from '../functions/store/keys.js';

export interface ChangeFeedOptions {
  client: DynamoDBClient;
  endpoint: string;
  table: string;
  /** What the pipe's target would get, one record at a time, in stream order. */
  consume: (event: ChangeEvent) => Promise<unknown>;
  /** Where shard positions are kept; in memory when absent (a restart then reads the stream from its start). */
  positionsFile?: string;
  /** @default 1000 */
  pollMs?: number;
  onError?: (error: unknown) => void;
}

/** The pipe's filter (`AUDIT_INSERT_FILTER`), applied to one record. */
export const selectedByPipe = (r: _Record) =>
  r.eventName === 'INSERT' &&
  r.dynamodb?.Keys?.[PK]?.S?.startsWith(EVENTS_PK_PREFIX) === true &&
  r.dynamodb?.Keys?.[SK]?.S?.startsWith(EVENT_SK_PREFIX) === true;

/**
 * The SDK reads an empty map attribute (`{"M": {}}` on the wire) as `{}`, which no AttributeValue is: the pipe,
 * which forwards the wire's JSON, sends `{"M": {}}`; so does this.
 */
type WireValue = { M?: WireImage; L?: WireValue[] } & Record<string, unknown>;
type WireImage = Record<string, WireValue>;

function restoreEmptyMaps(value: WireValue): WireValue {
  if (Object.keys(value).length === 0) return { M: {} };
  if (value.M) return { M: restoreEach(value.M) };
  if (Array.isArray(value.L)) return { L: value.L.map(restoreEmptyMaps) };
  return value;
}
const restoreEach = (image: WireImage): WireImage =>
  Object.fromEntries(Object.entries(image).map(([k, v]) => [k, restoreEmptyMaps(v)]));

/** The record as the pipe puts it on the bus: the stream record as JSON, the creation time in epoch seconds. */
export function asChangeEvent(record: _Record): ChangeEvent {
  const detail = JSON.parse(JSON.stringify(record));
  for (const image of ['Keys', 'NewImage', 'OldImage'] as const)
    if (detail.dynamodb?.[image]) detail.dynamodb[image] = restoreEach(detail.dynamodb[image]);
  const created = record.dynamodb?.ApproximateCreationDateTime;
  if (created instanceof Date) detail.dynamodb.ApproximateCreationDateTime = Math.floor(created.getTime() / 1000);
  return { 'detail-type': CHANGE_DETAIL_TYPE, source: CHANGE_SOURCE, detail };
}

type Positions = Record<string, { after?: string; done?: boolean }>;

export class LocalChangeFeed {
  private readonly streams: DynamoDBStreamsClient;
  private positions: Positions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ChangeFeedOptions) {
    this.streams = new DynamoDBStreamsClient({
      endpoint: options.endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    this.positions =
      options.positionsFile && existsSync(options.positionsFile)
        ? JSON.parse(readFileSync(options.positionsFile, 'utf8'))
        : {};
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.poll()
        .catch((error) => this.options.onError?.(error))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.options.pollMs ?? 1000);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.streams.destroy();
  }

  /**
   * One pass over the stream, after any pass in progress: everything written before the call is handed over when
   * it returns (tests await it). Passes never overlap, so no record is handed over twice at once.
   */
  poll(): Promise<void> {
    const pass = this.queue.then(() => this.pass());
    this.queue = pass.catch(() => {});
    return pass;
  }

  private queue: Promise<void> = Promise.resolve();
  private streamArn: string | undefined;

  private async pass(): Promise<void> {
    this.streamArn ??= (
      await this.options.client.send(new DescribeTableCommand({ TableName: this.options.table }))
    ).Table?.LatestStreamArn;
    const streamArn = this.streamArn;
    if (!streamArn) return;
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await this.streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ...(start && { ExclusiveStartShardId: start }) }),
      );
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
    const known = new Set(shards.map((s) => s.ShardId));
    for (const shard of shards) {
      const parent = shard.ParentShardId;
      if (parent && known.has(parent) && !this.positions[parent]?.done) continue; // the parent first
      await this.readShard(streamArn, shard);
    }
  }

  private async readShard(streamArn: string, shard: Shard): Promise<void> {
    const id = shard.ShardId!;
    const position = this.positions[id] ?? {};
    this.positions[id] = position;
    if (position.done) return;
    const iteratorFrom = async (after: string | undefined) =>
      (
        await this.streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: id,
            ...(after
              ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
              : { ShardIteratorType: 'TRIM_HORIZON' }),
          }),
        )
      ).ShardIterator;
    let iterator: string | undefined;
    try {
      iterator = await iteratorFrom(position.after);
    } catch (error) {
      // The position is older than the stream keeps (24 h: a stack stopped for longer): from the oldest record kept.
      if (!(error instanceof TrimmedDataAccessException)) throw error;
      iterator = await iteratorFrom(undefined);
    }
    while (iterator && !this.stopped) {
      let out: GetRecordsCommandOutput;
      try {
        out = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
      } catch (error) {
        // An iterator lives 15 minutes: the next pass takes a new one from the position kept.
        if (error instanceof ExpiredIteratorException) break;
        throw error;
      }
      for (const record of out.Records ?? []) {
        if (selectedByPipe(record)) await this.options.consume(asChangeEvent(record));
        position.after = record.dynamodb!.SequenceNumber!;
        this.save();
      }
      iterator = out.NextShardIterator;
      if (!iterator) position.done = true; // a closed shard, read to its end
      if (!out.Records?.length) break;
    }
    this.save();
  }

  private save(): void {
    if (this.options.positionsFile) writeFileSync(this.options.positionsFile, JSON.stringify(this.positions));
  }
}
