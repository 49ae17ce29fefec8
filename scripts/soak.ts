/**
 * `npm run soak -- [minutes]`: the model-based tier (R6) for as long as asked (default 30 minutes), new random
 * sequences until the time is up; MODEL_SEED replays a run, MODEL_LANES runs several sequences at once.
 */
import { spawnSync } from 'node:child_process';

const minutes = Number(process.argv[2] ?? 30);
if (!(minutes > 0)) {
  console.error('usage: npm run soak -- [minutes]');
  process.exit(1);
}
const run = spawnSync('npx', ['vitest', 'run', 'test/reliability/model-based.test.ts', '--reporter=dot'], {
  stdio: 'inherit',
  env: { ...process.env, MODEL_SECONDS: String(Math.round(minutes * 60)) },
});
spawnSync('npx', ['tsx', 'scripts/reliability.ts', '--report'], { stdio: 'inherit' });
process.exit(run.status ?? 1);
