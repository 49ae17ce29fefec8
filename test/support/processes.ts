/**
 * Local server processes for the integration tests that run the product as a user does: `tsx bin/local.ts`,
 * each in its own process group (tsx runs the server in a child node process), and a seeded PRNG for their load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { guard } from '../../local/guard.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');

export interface LocalProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Stops the group should this test process end first (a failed or timed-out run); `stopLocal` releases it. */
  guardian?: { release(): Promise<void> };
}

export interface StartOptions {
  port: number;
  /** The arguments after `bin/local.ts --port PORT`. */
  args: string[];
  /** MAINTCTL_ADMIN_TOKEN for the process. */
  adminToken: string;
  /** How long it may take to answer `GET /v1/health`. */
  timeoutMs: number;
  /** Stop it (stopLocal) when it does not start in time; otherwise that is left to the caller. */
  stopOnTimeout?: boolean;
  /** Told of the child as soon as it is spawned (before it answers). */
  onSpawn?: (child: ChildProcess) => void;
  /** More environment variables for the process. */
  env?: Record<string, string>;
}

/** `tsx bin/local.ts --port PORT ...args` in its own process group, once it answers `GET /v1/health`. */
export async function startLocal(options: StartOptions): Promise<LocalProcess> {
  const { port, args, adminToken, timeoutMs } = options;
  const child = spawn(TSX, ['bin/local.ts', '--port', String(port), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env, MAINTCTL_ADMIN_TOKEN: adminToken },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn?.(child);
  // SIGTERM lets the stack stop its DynamoDB Local (a group of its own); SIGKILL if it has not gone in 10 s.
  const guardian = guard(
    'kill -TERM -"$0" 2>/dev/null || exit 0; for i in $(seq 100); do kill -0 -"$0" 2>/dev/null || exit 0; sleep 0.1; done; kill -KILL -"$0"',
    String(child.pid),
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`local server exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    try {
      if ((await fetch(`${url}/v1/health`)).ok) return { url, child, output: () => output, guardian };
    } catch {
      /* not listening yet */
    }
    if (Date.now() - started > timeoutMs) {
      if (options.stopOnTimeout) await stopLocal({ url, child, output: () => output, guardian });
      throw new Error(`local server did not start within ${timeoutMs / 1000} s:\n${output}`);
    }
    await sleep(100);
  }
}

/** Whether any process of the group is left (a zombie counts). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to a process (a negative pid: a process group), if it is still there. */
export function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** SIGTERM to the process group, and SIGKILL if it is not gone within about 10 s. */
export async function stopLocal(p: LocalProcess): Promise<void> {
  const pgid = p.child.pid!;
  if (groupAlive(pgid)) {
    kill(-pgid, 'SIGTERM');
    for (let i = 0; i < 100 && groupAlive(pgid); i++) await sleep(100);
    if (groupAlive(pgid)) kill(-pgid, 'SIGKILL');
  }
  await p.guardian?.release();
}

/** A small seeded PRNG, so a failing run can be repeated with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
