/**
 * HAProxy's runtime API (the `stats socket ... level admin` line): one command per connection, over TCP or a
 * unix socket, as `socat` sends them.
 */
import { connect } from 'node:net';

/** The states the agent sets: `ready` serves, `drain` takes no new sessions, `maint` is out of service. */
export type AdminState = 'ready' | 'drain' | 'maint';

export interface ProxyServerState {
  backend: string;
  server: string;
  state: AdminState;
  /** Sessions through HAProxy now (`scur`). */
  sessions: number;
}

export class RuntimeApi {
  constructor(
    /** `host:port` or a unix socket's path. */
    readonly address: string,
    private readonly timeoutMs = 2000,
  ) {}

  /** Sends one command; the answer's text. A refused command (`No such server.`, …) is an error. */
  async command(line: string): Promise<string> {
    const tcp = /^([^/:]+):(\d+)$/.exec(this.address);
    const socket = tcp ? connect({ host: tcp[1]!, port: Number(tcp[2]) }) : connect({ path: this.address });
    socket.setTimeout(this.timeoutMs);
    const answer = await new Promise<string>((done, fail) => {
      let text = '';
      socket.on('connect', () => socket.end(`${line}\n`));
      socket.on('data', (d) => (text += d));
      socket.on('timeout', () => socket.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      socket.on('error', fail);
      socket.on('close', () => done(text));
    });
    const refused = /^(No such|Unknown command|Require|Permission denied|Unexpected|Invalid)/m.exec(answer);
    if (refused) throw new Error(`HAProxy refused "${line}": ${answer.trim()}`);
    return answer;
  }

  /**
   * Every server's admin state and sessions. `show stat` has both: `status` MAINT/DRAIN (set through the
   * runtime API or the config) and `scur`. A server whose checks failed is `DOWN` yet `ready` to the admin.
   */
  async servers(): Promise<ProxyServerState[]> {
    const csv = (await this.command('show stat -1 4 -1')).replace(/^# /, '').trim().split('\n');
    const header = csv[0]!.split(',');
    const col = (name: string) => header.indexOf(name);
    const [px, sv, status, scur] = [col('pxname'), col('svname'), col('status'), col('scur')];
    return csv.slice(1).map((line) => {
      const f = line.split(',');
      const s = f[status]!;
      const state: AdminState = s.startsWith('MAINT')
        ? 'maint'
        : s === 'DRAIN' || s.startsWith('DRAIN')
          ? 'drain'
          : 'ready';
      return { backend: f[px]!, server: f[sv]!, state, sessions: Number(f[scur] ?? 0) };
    });
  }

  setState(backend: string, server: string, state: AdminState): Promise<string> {
    return this.command(`set server ${backend}/${server} state ${state}`);
  }

  /** Closes every session of the server at once (a forced maintenance). */
  shutdownSessions(backend: string, server: string): Promise<string> {
    return this.command(`shutdown sessions server ${backend}/${server}`);
  }
}
