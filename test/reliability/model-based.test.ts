/**
 * R6, the control plane over time: fast-check chooses sequences of commands (test/support/model/commands.ts) and
 * runs them against the real local stack on a clock the test controls, checking every promise after every command
 * (test/support/model/invariants.ts).
 *   MODEL_RUNS sequences (200), MODEL_COMMANDS commands each (25-28), MODEL_LANES sequences at once (1), each lane
 *   seeded MODEL_SEED + its number: MODEL_SEED=<seed> MODEL_LANES=1 replays one lane's run.
 *   MODEL_SECONDS, if set, runs sequences until that much time has passed (`npm run soak`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandArbitrary, scenarios, type Model } from '../support/model/commands.js';
import { INVARIANTS, invariantChecker } from '../support/model/invariants.js';
import { createWorld, type World } from '../support/model/world.js';
import { reported } from '../support/reliability-report.js';
import { startDynamoLocal, type DynamoLocal } from '../../local/dynamodb.js';

const RUNS = Number(process.env.MODEL_RUNS ?? 200);
const LANES = Number(process.env.MODEL_LANES ?? 1);
const RESTART_EVERY = 30;
const SECONDS = process.env.MODEL_SECONDS ? Number(process.env.MODEL_SECONDS) : undefined;
const [MIN_COMMANDS, MAX_COMMANDS] = (process.env.MODEL_COMMANDS ?? '25-28').split('-').map(Number) as [number, number];
const SEED = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : Math.floor(Math.random() * 2 ** 30);

describe('R6: the control plane over time, model-based', () => {
  const stats = {
    sequences: 0,
    commands: 0,
    roundTrips: 0,
    answers: new Map<number, number>(),
    reached: new Map<string, number>(),
    timing: { setup: 0, act: 0, settle: 0, check: 0 },
  };
  const per = (n: number, of: number) => Math.round(n / Math.max(of, 1));

  /**
   * One lane: sequence after sequence, each in a world of its own, on a DynamoDB Local of the lane's own (one
   * serves one request at a time, and the other tests have the run's), started afresh every RESTART_EVERY
   * sequences: it slows down as tables come and go.
   */
  async function lane(seed: number, runs: number, deadline: number | undefined): Promise<void> {
    let dynamo: DynamoLocal | undefined;
    let served = 0;
    const endpoint = async () => {
      if (!dynamo || served++ % RESTART_EVERY === RESTART_EVERY - 1) {
        await dynamo?.stop();
        dynamo = await startDynamoLocal();
      }
      return dynamo.endpoint;
    };
    try {
      await sequences(seed, runs, deadline, endpoint);
    } finally {
      await dynamo?.stop();
    }
  }

  async function sequences(
    seed: number,
    runs: number,
    deadline: number | undefined,
    endpoint: () => Promise<string>,
  ): Promise<void> {
    await fc
      .assert(
        fc.asyncProperty(
          fc.array(commandArbitrary(), { minLength: MIN_COMMANDS, maxLength: MAX_COMMANDS }),
          async (commands) => {
            const world: World = await createWorld(await endpoint());
            const model: Model = { commands: 0, check: invariantChecker() };
            // The seeded world, checked once: what the sequence reaches is counted from there.
            await model.check(world, { ticked: false, previousTick: world.lastTick });
            world.reached.clear();
            try {
              await fc.asyncModelRun(() => ({ model, real: world }), commands);
            } finally {
              stats.sequences++;
              stats.commands += model.commands;
              stats.roundTrips += world.env.roundTrips.count;
              for (const [status, n] of world.answers) stats.answers.set(status, (stats.answers.get(status) ?? 0) + n);
              for (const [action, n] of world.reached) stats.reached.set(action, (stats.reached.get(action) ?? 0) + n);
              for (const k of Object.keys(stats.timing) as (keyof World['timing'])[])
                stats.timing[k] += world.timing[k];
              await world.env.close();
              if (process.env.MODEL_TRACE)
                console.log(
                  `sequence ${stats.sequences}: ${model.commands} commands, ${Math.round(Object.values(world.timing).reduce((a, b) => a + b, 0))} ms, ${world.env.roundTrips.count} calls`,
                );
            }
          },
        ),
        // A soak ends when its time is up, between two sequences; the sequences it ran must all have passed.
        {
          seed,
          numRuns: runs,
          endOnFailure: true,
          examples: scenarios().map((steps) => [steps]),
          ...(deadline !== undefined && {
            interruptAfterTimeLimit: deadline - Date.now(),
            markInterruptAsFailure: false,
          }),
        },
      )
      .catch((error: Error) => {
        const cause = error.cause instanceof Error ? `\n${error.cause.message}` : '';
        throw new Error(
          `lane seeded ${seed} (replay: MODEL_SEED=${seed} MODEL_LANES=1 MODEL_RUNS=${runs}): ${error.message.split('\nCounterexample')[0]}${cause}`,
          { cause: error },
        );
      });
  }

  it(
    `${SECONDS ? `${SECONDS} s of` : RUNS} random sequences of ${MIN_COMMANDS}+ commands keep every promise after every command`,
    async () => {
      console.log(`model seed ${SEED}, ${LANES} lanes (set MODEL_SEED=${SEED} to replay)`);
      const deadline = SECONDS !== undefined ? Date.now() + SECONDS * 1000 : undefined;
      await reported(
        'R6-model',
        () => ({
          tier: 'R6 model-based sequences',
          seed: SEED,
          cases: stats.commands,
          faults: 0,
          invariants: INVARIANTS,
          detail: `${stats.sequences} sequences, ${stats.commands} commands, answers ${[...stats.answers]
            .sort(([a], [b]) => a - b)
            .map(([s, n]) => `${s}×${n}`)
            .join(
              ' ',
            )}; DynamoDB calls per command ${per(stats.roundTrips, stats.commands)}; ms per sequence: ${Object.entries(
            stats.timing,
          )
            .map(([k, v]) => `${k} ${per(v, stats.sequences)}`)
            .join(', ')}; reached: ${[...stats.reached]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([a, n]) => `${a} ${n}`)
            .join(', ')}`,
        }),
        async () => {
          const runs = deadline !== undefined ? Number.MAX_SAFE_INTEGER : Math.ceil(RUNS / LANES);
          // Every lane ends before the test does (nothing left running), then the first failure is the test's.
          const lanes = await Promise.allSettled(
            Array.from({ length: LANES }, (_, i) => lane(SEED + i, runs, deadline)),
          );
          const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
          if (failed) throw failed.reason;
        },
      );
      expect(stats.sequences).toBeGreaterThanOrEqual(deadline !== undefined ? 1 : RUNS);
    },
    (SECONDS ?? 3600) * 1000 + 10 * 60_000,
  );
});
