/**
 * The HTTP API of a local server process, called with a bearer token; its audit log, paged in; and the check
 * that the log replays to what is stored.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ClusterState } from '../../functions/domain/model.js';
import { projectCluster, projectDc, projectServer } from '../../functions/domain/outcome.js';
import { dynamoClient } from '../../functions/runtime.js';
import { DynamoStore } from '../../functions/store/dynamo.js';

export interface Answer {
  status: number;
  body: unknown;
}

export interface ApiClientOptions {
  /** The server's base URL, or where it is now (a server that is restarted). */
  url: string | (() => string);
  token: string;
  /** An answer whose body is not JSON: the body is its text ('text'), or the call fails ('throw'). */
  nonJson?: 'text' | 'throw';
}

export interface ApiClient {
  call(method: string, path: string, body?: unknown): Promise<Answer>;
  /** The body of a 2xx answer (typed as the caller says); any other answer throws. */
  ok<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Every event of the cluster's audit log, in (revision, seq) order (typed as the caller says). */
  allEvents<T extends ApiEvent = ApiEvent>(cluster: string): Promise<T[]>;
}

export interface ApiEvent {
  revision: number;
  seq: number;
  at: string;
  action: string;
  target: string;
  actor: string;
  before: unknown;
  after: unknown;
  override?: boolean;
}

export function apiClient({ url, token, nonJson = 'text' }: ApiClientOptions): ApiClient {
  const base = typeof url === 'string' ? () => url : url;

  const send = (method: string, path: string, body?: unknown) =>
    fetch(`${base()}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    let res: Response;
    try {
      res = await send(method, path, body);
    } catch (error) {
      // A kept-alive connection to a server process that was killed (the durability tests restart it on the same
      // port) fails a request it never received: a read is sent again, once, on a new connection.
      if (method !== 'GET' || (error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
      res = await send(method, path, body);
    }
    const text = await res.text();
    if (nonJson === 'throw') return { status: res.status, body: text ? JSON.parse(text) : undefined };
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* keep the text */
    }
    return { status: res.status, body: parsed };
  }

  async function ok<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await call(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as T;
  }

  async function allEvents<T extends ApiEvent = ApiEvent>(cluster: string): Promise<T[]> {
    const events: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await ok<{ events: T[]; cursor?: string }>(
        'GET',
        `/v1/clusters/${cluster}/events?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      events.push(...page.events);
      cursor = page.cursor;
    } while (cursor);
    return events.sort((a, b) => a.revision - b.revision || a.seq - b.seq);
  }

  return { call, ok, allEvents };
}

/** A JSON value as it goes over the wire (undefined as null), for deep comparison. */
export const canon = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null));

// ---------------------------------------------------------------------------------------------------------
// The stored state, against the audit log's replay

/** The cluster as stored, read straight from DynamoDB (Local). */
export async function readStored(endpoint: string, table: string, cluster: string): Promise<ClusterState> {
  const client = dynamoClient(endpoint);
  const stored = (await new DynamoStore(client, table).readCluster(cluster))!;
  client.destroy();
  return stored;
}

/**
 * Where the stored state and the replayed log differ: for every target (the cluster, each server and dc), the
 * stored projection against the last `after` the log has for it (`replayed`; removed targets absent).
 */
export function mismatches(stored: ClusterState, replayed: ReadonlyMap<string, unknown>): string[] {
  const expected = new Map<string, unknown>([['cluster', canon(projectCluster(stored.cluster))]]);
  for (const s of stored.servers.values()) expected.set(`server:${s.name}`, canon(projectServer(s)));
  for (const d of stored.dcs.values()) expected.set(`dc:${d.name}`, canon(projectDc(d)));
  return [...new Set([...expected.keys(), ...replayed.keys()])]
    .filter((target) => !isDeepStrictEqual(expected.get(target) ?? null, canon(replayed.get(target) ?? null)))
    .map(
      (target) =>
        `${target}: stored ${JSON.stringify(expected.get(target) ?? null)} ≠ replayed ${JSON.stringify(canon(replayed.get(target) ?? null))}`,
    );
}
