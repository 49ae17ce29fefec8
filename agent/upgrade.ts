/** The configured upgrade command, run for one server: its failure as the node's reason, or undefined. */
import { spawn } from 'node:child_process';

const STDERR_LINES = 10;

export function runUpgrade(
  command: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((done) => {
    const child = spawn(command[0]!, command.slice(1), {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
    let timedOut = false;
    // The command's whole process group: a script's children go with it.
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* gone already */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 5000).unref();
    }, timeoutMs);
    const last = () => stderr.trimEnd().split('\n').slice(-STDERR_LINES).join('\n');
    child.on('error', (error) => {
      clearTimeout(timer);
      done(`upgrade command ${command[0]} could not start: ${error.message}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) done(`upgrade command timed out after ${timeoutMs / 1000} s${last() ? `: ${last()}` : ''}`);
      else if (code === 0) done(undefined);
      else done(`upgrade command exited with ${code ?? signal}${last() ? `: ${last()}` : ''}`);
    });
  });
}
