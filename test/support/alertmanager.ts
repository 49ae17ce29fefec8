/**
 * A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) for the silence tests: on a free port of
 * 127.0.0.1, with its own config and storage in a temp folder, no cluster gossip. `stop()` and `start()` again keep
 * the port and the storage (an outage, then the same Alertmanager back with its silences).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../local/dynamodb.js';
import { guard } from '../../local/guard.js';

export const ALERTMANAGER_BINARY = '/usr/bin/prometheus-alertmanager';

const CONFIG = `route:
  receiver: nobody
receivers:
  - name: nobody
`;

export type AlertmanagerSilence = {
  id: string;
  status: { state: string };
  comment: string;
  createdBy: string;
  startsAt: string;
  endsAt: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
};

export interface TestAlertmanager {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
  /** Its own API's list: `GET /api/v2/silences`. */
  silences(): Promise<AlertmanagerSilence[]>;
}

export async function startAlertmanager(): Promise<TestAlertmanager> {
  if (!existsSync(ALERTMANAGER_BINARY))
    throw new Error(`${ALERTMANAGER_BINARY} is missing: sudo apt-get install -y prometheus-alertmanager`);
  const dir = mkdtempSync(join(tmpdir(), 'maintctl-am-'));
  writeFileSync(join(dir, 'alertmanager.yml'), CONFIG);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let guardian: { release(): Promise<void> } | undefined;
  let output = '';

  const stop = async () => {
    const running = child;
    child = undefined;
    if (running && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((done) => running.once('exit', done));
      running.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (running.exitCode === null && running.signalCode === null) running.kill('SIGKILL');
    }
    await guardian?.release();
    guardian = undefined;
  };

  const start = async () => {
    output = '';
    child = spawn(
      ALERTMANAGER_BINARY,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    // Gone with this test process however it ends.
    guardian = guard('kill -TERM "$0" 2>/dev/null', String(child.pid));
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`Alertmanager exited (${child.exitCode}): ${output.slice(-500)}`);
      try {
        if ((await fetch(`${url}/-/ready`)).ok) return;
      } catch {
        /* not listening yet */
      }
      if (i > 200) {
        await stop();
        throw new Error(`Alertmanager did not start within 20 s: ${output.slice(-500)}`);
      }
      await sleep(100);
    }
  };

  await start();
  return {
    url,
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async silences() {
      const res = await fetch(`${url}/api/v2/silences`);
      if (!res.ok) throw new Error(`Alertmanager answered ${res.status}`);
      return (await res.json()) as AlertmanagerSilence[];
    },
  };
}
