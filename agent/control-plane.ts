/** What the agent reads from and tells the control plane (the native API, with the cluster's agent token). */
import type { claimJson, serverJson } from '../functions/api/render.js';
import type { StatusReport } from '../functions/domain/status.js';

/** The native API's shapes, as the handlers render them (a type import: nothing of them is bundled). */
export type ClaimJson = ReturnType<typeof claimJson>;
export type ServerJson = ReturnType<typeof serverJson>;

export interface RolloutJson {
  id: string;
  status: string;
  targetVersion: string;
  input: { upgrade: { kind: string } };
  servers: { name: string; step: string; outcome: string; attempt: number; stepStartedAt?: string }[];
}

export interface Switchover {
  from?: string;
  to: string;
}

/** The control plane answered with an error status. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined,
  ) {
    super(message);
  }
}

export class ControlPlane {
  private readonly base: string;

  constructor(
    url: string,
    readonly cluster: string,
    private readonly token: string,
    private readonly timeoutMs = 5000,
  ) {
    this.base = `${url.replace(/\/+$/, '')}/v1/clusters/${encodeURIComponent(cluster)}`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as T & ApiError['body']) : undefined;
    if (!res.ok)
      throw new ApiError(
        res.status,
        `${method} ${path}: ${res.status} ${json?.error?.message ?? res.statusText}`,
        json,
      );
    return json as T;
  }

  async servers(): Promise<ServerJson[]> {
    return (await this.call<{ servers: ServerJson[] }>('GET', '/servers')).servers;
  }

  async pendingSwitchover(): Promise<Switchover | null> {
    return (await this.call<{ pendingSwitchover: Switchover | null }>('GET', '/failover')).pendingSwitchover;
  }

  rollout(id: string): Promise<RolloutJson> {
    return this.call('GET', `/rollouts/${encodeURIComponent(id)}`);
  }

  /** True when the report changed what routing depends on (the server list is worth reading again). */
  async report(server: string, report: StatusReport): Promise<boolean> {
    return (
      await this.call<{ routingRelevant: boolean }>('PUT', `/servers/${encodeURIComponent(server)}/status`, report)
    ).routingRelevant;
  }

  /** Takes or renews the lease; the holder in force (another agent's on a 409). */
  async lease(holder: string, ttlSeconds: number): Promise<string> {
    try {
      return (await this.call<{ holder: string }>('PUT', '/agent-lease', { holder, ttlSeconds })).holder;
    } catch (error) {
      const other = error instanceof ApiError && error.status === 409 ? error.body?.error?.details?.holder : undefined;
      if (typeof other === 'string') return other;
      throw error;
    }
  }

  async upgradeFailed(rollout: string, server: string, reason: string): Promise<void> {
    await this.call(
      'POST',
      `/rollouts/${encodeURIComponent(rollout)}/servers/${encodeURIComponent(server)}/upgrade-failure`,
      { reason },
    );
  }
}
