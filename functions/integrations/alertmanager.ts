/** Prometheus Alertmanager's API v2, the three calls silences need: create (or update by id), expire, list. */
import type { Matcher } from '../domain/silences.js';

export interface SilenceBody {
  id?: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export interface AlertmanagerSilence extends SilenceBody {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
}

class AlertmanagerError extends Error {}

export class Alertmanager {
  private readonly base: string;

  /** `url`: where Alertmanager answers (a path prefix such as `/alertmanager` kept); each call gets `timeoutMs`. */
  constructor(
    url: string,
    private readonly timeoutMs = 2500,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  /** Creates a silence, or with `id` updates it (Alertmanager may answer another id: it then expired the old one). */
  async upsert(silence: SilenceBody): Promise<string> {
    const res = await this.call('POST', '/api/v2/silences', silence);
    return ((await res.json()) as { silenceID: string }).silenceID;
  }

  /** Expires a silence; one already expired or unknown (garbage-collected) counts as done. */
  async expire(id: string): Promise<void> {
    await this.call(
      'DELETE',
      `/api/v2/silence/${encodeURIComponent(id)}`,
      undefined,
      (status, text) => status === 404 || /already expired/i.test(text),
    );
  }

  async list(): Promise<AlertmanagerSilence[]> {
    return (await (await this.call('GET', '/api/v2/silences')).json()) as AlertmanagerSilence[];
  }

  private async call(
    method: string,
    path: string,
    body?: unknown,
    acceptable: (status: number, text: string) => boolean = () => false,
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new AlertmanagerError(
        `Alertmanager did not answer ${method} ${path}: ${cause ?? (error as Error).message}`,
      );
    }
    if (res.ok) return res;
    const text = (await res.text()).slice(0, 300);
    if (acceptable(res.status, text)) return res;
    throw new AlertmanagerError(`Alertmanager answered ${method} ${path} with ${res.status}: ${text.trim()}`);
  }
}
