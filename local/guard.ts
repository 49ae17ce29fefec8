/**
 * Cleanup that survives this process however it ends. Exit hooks would not do: vitest ends its fork workers with
 * SIGTERM and, when its main process is gone (a Ctrl-C, a CI timeout), with SIGKILL; a child in a process group of
 * its own outlives them all.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * A `sh` in a session of its own that waits until its stdin, a pipe from this process, closes — on `release()`,
 * or when this process ends — then runs `cleanup` (a shell command; `args` are its `$0`, `$1`, …).
 */
export function guard(cleanup: string, ...args: string[]): { release(): Promise<void> } {
  const guardian = spawn('sh', ['-c', `read -r line; ${cleanup}`, ...args], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // A guardian never keeps this process alive: it outlives it by design.
  guardian.unref();
  (guardian.stdin as unknown as Socket).unref();
  const ended = new Promise<void>((done) => guardian.on('exit', () => done()));
  return {
    release() {
      guardian.ref();
      guardian.stdin!.end();
      return ended;
    },
  };
}
