/**
 * Shows that each reliability invariant can fail: builds the product with one deliberate fault at a time (a
 * copy of HEAD in a temporary git worktree, one exact text replacement), runs the test that guards that
 * invariant there, and expects it to fail. Prints one line per case: `caught` or `NOT CAUGHT`; exits 1 if any
 * slipped through. Slow (each case is a full reliability test); not part of `npm test`.
 *
 *   npx tsx scripts/break-invariants.ts [--check] [case-name ...]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

interface Breakage {
  name: string;
  /** The invariant the test guards, as the report names it. */
  invariant: string;
  /** Exact replacements, each of a text found once, by file. */
  edits: { file: string; from: string; to: string }[];
  test: string;
}

const MODEL = 'test/reliability/model-based.test.ts';

const EVENT_PUT =
  "items.push({ Put: { TableName: T, Item: { [K.PK]: K.eventsPk(id), [K.SK]: K.eventSk(revision, seq), ...auditEvent }, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': K.PK } } });";

export const CASES: Breakage[] = [
  {
    name: 'event-outside-transaction',
    invariant: 'R2: no change without its audit event',
    // The audit events written by a request of their own once the transaction has committed.
    edits: [
      {
        file: 'functions/store/dynamo.ts',
        from: `      ${EVENT_PUT}`,
        to: '      afterwards.push({ TableName: T, Item: { [K.PK]: K.eventsPk(id), [K.SK]: K.eventSk(revision, seq), ...auditEvent } });',
      },
      {
        file: 'functions/store/dynamo.ts',
        from: '    outcome.events.forEach((draft, seq) => {',
        to: '    const afterwards: { TableName: string; Item: Record<string, unknown> }[] = [];\n    outcome.events.forEach((draft, seq) => {',
      },
      {
        file: 'functions/store/dynamo.ts',
        from: '      await this.doc.send(new TransactWriteCommand(input));',
        to: '      await this.doc.send(new TransactWriteCommand(input));\n      for (const put of afterwards) await this.doc.send(new PutCommand(put));',
      },
    ],
    test: 'test/reliability/faults.test.ts',
  },
  {
    name: 'no-revision-condition',
    invariant: 'R1: no lost update, budget held at every revision',
    // Both guards: the cluster item's revision, and the audit event's key numbered by the revision read.
    edits: [
      {
        file: 'functions/store/dynamo.ts',
        from: "? { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'revision' }, ExpressionAttributeValues: { ':rev': readRevision } }",
        to: "? { ConditionExpression: 'attribute_exists(#rev)', ExpressionAttributeNames: { '#rev': 'revision' } }",
      },
      {
        file: 'functions/store/dynamo.ts',
        from: EVENT_PUT,
        to: 'items.push({ Put: { TableName: T, Item: { [K.PK]: K.eventsPk(id), [K.SK]: K.eventSk(revision, seq), ...auditEvent } } });',
      },
    ],
    test: 'test/reliability/concurrency.test.ts',
  },
  {
    name: 'backend-errors-as-500',
    invariant: 'R2: a backend fault is a clean 503',
    edits: [
      {
        file: 'functions/store/errors.ts',
        from: "'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'TimeoutError', 'RequestTimeout',",
        to: "'EAI_AGAIN',",
      },
    ],
    test: 'test/reliability/faults.test.ts',
  },
  {
    name: 'bad-json-throws',
    invariant: 'R3: no answer ≥ 500 whatever is sent',
    edits: [
      {
        file: 'functions/http/handler.ts',
        from: "    try {\n      value = JSON.parse(req.rawBody);\n    } catch {\n      throw invalid('the body is not valid JSON');\n    }",
        to: '    value = JSON.parse(req.rawBody);',
      },
    ],
    test: 'test/reliability/fuzz.test.ts',
  },
  {
    name: 'ack-before-write',
    invariant: 'R5: nothing acknowledged is lost',
    edits: [
      {
        file: 'functions/store/dynamo.ts',
        from: '      await this.doc.send(new TransactWriteCommand(input));',
        to: '      void this.doc.send(new TransactWriteCommand(input)).catch(() => {});',
      },
    ],
    test: 'test/reliability/durability.test.ts',
  },
  {
    name: 'roles-ignored',
    invariant: 'S1: forbidden calls get 401/403 and change nothing',
    edits: [
      {
        file: 'functions/http/auth.ts',
        from: "  return required === 'public' || RANK[role] >= RANK[required];",
        to: '  return true;',
      },
    ],
    test: 'test/reliability/auth-matrix.test.ts',
  },
  {
    name: 'hash-compared-with-equals',
    invariant: 'S2: secrets compared in constant time',
    edits: [
      {
        file: 'functions/http/auth.ts',
        from: "const equalHex = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));",
        to: 'const equalHex = (a: string, b: string) => a === b;',
      },
    ],
    test: 'test/reliability/timing-safe.test.ts',
  },
  {
    name: 'authorization-logged',
    invariant: 'S2: no secret in any log line',
    edits: [
      {
        file: 'local/http-server.ts',
        from: '          const key = routeKey(match.route);',
        to: "          console.log(JSON.stringify({ message: 'request', path, authorization: req.headers.authorization }));\n          const key = routeKey(match.route);",
      },
    ],
    test: 'test/reliability/auth-matrix.test.ts',
  },
  // Issue 14's four defects, re-introduced: the model-based tier (R6) must catch each.
  {
    name: 'token-escalation',
    invariant: 'R6: no token above the token that created it',
    // A token limited to a cluster creates unscoped ones, and revokes any.
    edits: [
      { file: 'functions/api/tokens.ts', from: '    checkDelegation(creator, body.role, body.clusters);\n', to: '' },
      {
        file: 'functions/api/tokens.ts',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: source text to cut
        from: '      if (!withinScope(principal, token.clusters)) throw notFound(`token ${id}`);\n',
        to: '',
      },
    ],
    test: MODEL,
  },
  {
    name: 'window-end-any-occurrence',
    invariant: "R6: a window's claims exactly while its occurrence is open",
    // The sweeper ends the last occurrence that is over whenever the window holds claims, and an end ends whatever
    // is open (the first occurrence of a window made at an odd minute lost its claims early).
    edits: [
      {
        file: 'functions/domain/windows.ts',
        from: '  if (window.open && window.open.occurrence !== scheduledTime) return { ...noop(state), window, events: [] };\n',
        to: '',
      },
      {
        file: 'functions/sweeper.ts',
        from: "    if (!window.open || window.open.until > deps.now()) continue;\n    const result = await runWindowPhase(deps, { cluster, windowId: window.id, phase: 'end', scheduledTime: new Date(window.open.occurrence).toISOString() });",
        to: "    const over = occurrencesAfter(compileSchedule(window.schedule, window.timezone, window.startDate), window.timezone, deps.now() - window.durationMs - MAX_WINDOW_MS, 1000).filter((t) => t + window.durationMs <= deps.now()).at(-1);\n    if (over === undefined || !window.open) continue;\n    const result = await runWindowPhase(deps, { cluster, windowId: window.id, phase: 'end', scheduledTime: new Date(over).toISOString() });",
      },
      {
        file: 'functions/sweeper.ts',
        from: "import { runWindowPhase } from './windows/phase.js';",
        to: "import { runWindowPhase } from './windows/phase.js';\nimport { compileSchedule, MAX_WINDOW_MS, occurrencesAfter } from './domain/schedule.js';",
      },
    ],
    test: MODEL,
  },
  {
    name: 'rollout-id-reused',
    invariant: 'R6: a rollout id is one run',
    // A rollout window's next occurrence re-creates its last rollout under the same id.
    edits: [
      {
        file: 'functions/windows/phase.ts',
        from: '      const rolloutId = resume ? snapshot.rollout.id : fresh;',
        to: '      const rolloutId = resume ? snapshot.rollout.id : (w.rolloutId ?? fresh);',
      },
      {
        file: 'functions/windows/phase.ts',
        from: 'createAndClaim(state, fresh, w.rollout!',
        to: 'createAndClaim(state, rolloutId, w.rollout!',
      },
    ],
    test: MODEL,
  },
  {
    name: 'resume-decided-by-dry-run',
    invariant: 'R6: at most one execution per rollout',
    // Resume checked by a dry run before the start, and an execution that finds another running takes over.
    edits: [
      {
        file: 'functions/api/rollouts.ts',
        from: '      rule: (state, now, { rollout }) =>\n        resumeRollout(',
        to: '      dryRun: true,\n      rule: (state, now, { rollout }) =>\n        resumeRollout(',
      },
      {
        file: 'functions/api/mutation.ts',
        from: '    if (!spec.dryRun) await spec.then?.(result.outcome);',
        to: '    await spec.then?.(result.outcome);',
      },
      {
        file: 'functions/domain/rollout/lifecycle.ts',
        from:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: source text to cut
          "    if (startedBy !== owner)\n      throw new DomainError('RolloutConflict', `rollout ${rollout.id} is already run by execution ${owner}`, {\n        execution: owner,\n      });\n",
        to: '',
      },
    ],
    test: MODEL,
  },
];

/**
 * The source with `from` replaced by `to`, `from` matched whatever the formatter did to it (line breaks,
 * indentation, trailing commas); it must be there exactly once.
 */
export function replaceOnce(source: string, from: string, to: string, where: string): string {
  const literal = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const chars = [...from.replace(/\s+/g, '')];
  const pattern = chars.map((ch) => (/[)\]}]/.test(ch) ? `,?\\s*${literal(ch)}` : literal(ch))).join('\\s*');
  const matches = [...source.matchAll(new RegExp(pattern, 'g'))];
  if (matches.length !== 1)
    throw new Error(`${where}: the text to replace is there ${matches.length} times, not once: ${from.trim()}`);
  const at = matches[0]!.index;
  return source.slice(0, at) + to.trim() + source.slice(at + matches[0]![0].length);
}

const ROOT = resolve(import.meta.dirname, '..');

if (process.argv[1] === fileURLToPath(import.meta.url)) main();

function main(): void {
  const args = process.argv.slice(2);
  /** `--check`: only that every edit applies to the working tree's sources (fast; no test runs). */
  const checkOnly = args.includes('--check');
  const only = args.filter((a) => a !== '--check');
  if (checkOnly) {
    for (const c of CASES.filter((x) => only.length === 0 || only.includes(x.name)))
      for (const { file, from, to } of c.edits)
        replaceOnce(readFileSync(join(ROOT, file), 'utf8'), from, to, `${c.name}: ${file}`);
    console.log('every edit applies once');
    return;
  }
  let missed = 0;
  for (const c of CASES.filter((x) => only.length === 0 || only.includes(x.name))) {
    const dir = mkdtempSync(join(tmpdir(), `maintctl-broken-${c.name}-`));
    try {
      const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
      if (git('worktree', 'add', '--detach', dir, 'HEAD').status !== 0)
        throw new Error(`git worktree add ${dir} failed`);
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      for (const { file, from, to } of c.edits) {
        const path = join(dir, file);
        writeFileSync(path, replaceOnce(readFileSync(path, 'utf8'), from, to, `${c.name}: ${file}`));
      }
      const started = Date.now();
      const run = spawnSync('npx', ['vitest', 'run', c.test, '--reporter=dot'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 15 * 60_000,
      });
      const seconds = Math.round((Date.now() - started) / 1000);
      const caught = run.status !== 0;
      if (!caught) missed++;
      const lines = stripVTControlCharacters(run.stdout + run.stderr).split('\n');
      // The model tier names the broken invariant on the line after its header.
      const broken = lines.findIndex((l) => l.includes('invariants broken after command'));
      const why = (
        broken >= 0
          ? `${lines[broken]!.trim()} ${lines[broken + 1]?.trim() ?? ''}`
          : (lines.find((l) => /AssertionError|Error:|expected/.test(l))?.trim() ?? '')
      ).slice(0, 240);
      console.log(
        `${caught ? 'caught    ' : 'NOT CAUGHT'} ${c.name.padEnd(26)} ${c.invariant.padEnd(52)} ${c.test} (${seconds} s) ${why}`,
      );
    } finally {
      spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT });
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.exit(missed > 0 ? 1 : 0);
}
