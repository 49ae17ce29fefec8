/**
 * Shows that each reliability invariant can fail: builds the product with one deliberate fault at a time (a
 * copy of HEAD in a temporary git worktree, one exact text replacement), runs the test that guards that
 * invariant there, and expects it to fail. Prints one line per case: `caught` or `NOT CAUGHT`; exits 1 if any
 * slipped through. Slow (each case is a full reliability test); not part of `npm test`.
 *
 *   npx tsx scripts/break-invariants.ts [case-name ...]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

interface Breakage {
  name: string;
  /** The invariant the test guards, as the report names it. */
  invariant: string;
  file: string;
  /** Exact replacements, each of a text found once. */
  edits: { from: string; to: string }[];
  test: string;
}

const EVENT_PUT = "items.push({ Put: { TableName: T, Item: { [K.PK]: K.eventsPk(id), [K.SK]: K.eventSk(revision, seq), ...auditEvent }, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': K.PK } } });";

const CASES: Breakage[] = [
  {
    name: 'event-outside-transaction',
    invariant: 'R2: no change without its audit event',
    file: 'functions/store/dynamo.ts',
    // The audit events written by a request of their own once the transaction has committed.
    edits: [
      { from: `      ${EVENT_PUT}`, to: '      afterwards.push({ TableName: T, Item: { [K.PK]: K.eventsPk(id), [K.SK]: K.eventSk(revision, seq), ...auditEvent } });' },
      { from: '    outcome.events.forEach((draft, seq) => {', to: '    const afterwards: { TableName: string; Item: Record<string, unknown> }[] = [];\n    outcome.events.forEach((draft, seq) => {' },
      { from: '      await this.doc.send(new TransactWriteCommand(input));', to: '      await this.doc.send(new TransactWriteCommand(input));\n      for (const put of afterwards) await this.doc.send(new PutCommand(put));' },
    ],
    test: 'test/reliability/faults.test.ts',
  },
  {
    name: 'no-revision-condition',
    invariant: 'R1: no lost update, budget held at every revision',
    file: 'functions/store/dynamo.ts',
    // Both guards: the cluster item's revision, and the audit event's key numbered by the revision read.
    edits: [
      { from: "? { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'revision' }, ExpressionAttributeValues: { ':rev': readRevision } }", to: "? { ConditionExpression: 'attribute_exists(#rev)', ExpressionAttributeNames: { '#rev': 'revision' } }" },
      { from: EVENT_PUT, to: "items.push({ Put: { TableName: T, Item: { [K.PK]: K.eventsPk(id), [K.SK]: K.eventSk(revision, seq), ...auditEvent } } });" },
    ],
    test: 'test/reliability/concurrency.test.ts',
  },
  {
    name: 'backend-errors-as-500',
    invariant: 'R2: a backend fault is a clean 503',
    file: 'functions/http/errors.ts',
    edits: [{ from: "'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'TimeoutError', 'RequestTimeout',", to: "'EAI_AGAIN'," }],
    test: 'test/reliability/faults.test.ts',
  },
  {
    name: 'bad-json-throws',
    invariant: 'R3: no answer ≥ 500 whatever is sent',
    file: 'functions/http/handler.ts',
    edits: [{ from: "    try {\n      value = JSON.parse(req.rawBody);\n    } catch {\n      throw invalid('the body is not valid JSON');\n    }", to: '    value = JSON.parse(req.rawBody);' }],
    test: 'test/reliability/fuzz.test.ts',
  },
  {
    name: 'ack-before-write',
    invariant: 'R5: nothing acknowledged is lost',
    file: 'functions/store/dynamo.ts',
    edits: [{ from: '      await this.doc.send(new TransactWriteCommand(input));', to: '      void this.doc.send(new TransactWriteCommand(input)).catch(() => {});' }],
    test: 'test/reliability/durability.test.ts',
  },
  {
    name: 'roles-ignored',
    invariant: 'S1: forbidden calls get 401/403 and change nothing',
    file: 'functions/http/auth.ts',
    edits: [{ from: "  return required === 'public' || RANK[role] >= RANK[required];", to: '  return true;' }],
    test: 'test/reliability/auth-matrix.test.ts',
  },
  {
    name: 'hash-compared-with-equals',
    invariant: 'S2: secrets compared in constant time',
    file: 'functions/http/auth.ts',
    edits: [{ from: "const equalHex = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));", to: 'const equalHex = (a: string, b: string) => a === b;' }],
    test: 'test/reliability/timing-safe.test.ts',
  },
  {
    name: 'authorization-logged',
    invariant: 'S2: no secret in any log line',
    file: 'local/http-server.ts',
    edits: [{ from: "          const key = routeKey(match.route);", to: "          console.log(JSON.stringify({ message: 'request', path, authorization: req.headers.authorization }));\n          const key = routeKey(match.route);" }],
    test: 'test/reliability/auth-matrix.test.ts',
  },
];

const ROOT = resolve(import.meta.dirname, '..');
const only = process.argv.slice(2);
let missed = 0;
for (const c of CASES.filter((x) => only.length === 0 || only.includes(x.name))) {
  const dir = mkdtempSync(join(tmpdir(), `maintctl-broken-${c.name}-`));
  try {
    const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    if (git('worktree', 'add', '--detach', dir, 'HEAD').status !== 0) throw new Error(`git worktree add ${dir} failed`);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const path = join(dir, c.file);
    let text = readFileSync(path, 'utf8');
    for (const { from, to } of c.edits) {
      if (text.split(from).length !== 2) throw new Error(`${c.name}: the text to replace is not in ${c.file} exactly once: ${from}`);
      text = text.replace(from, to);
    }
    writeFileSync(path, text);
    const started = Date.now();
    const run = spawnSync('npx', ['vitest', 'run', c.test, '--reporter=dot'], { cwd: dir, encoding: 'utf8', timeout: 15 * 60_000 });
    const seconds = Math.round((Date.now() - started) / 1000);
    const caught = run.status !== 0;
    if (!caught) missed++;
    const why = (run.stdout + run.stderr).split('\n').find((l) => /AssertionError|Error:|expected/.test(l))?.replace(/\x1b\[[0-9;]*m/g, '').trim().slice(0, 200) ?? '';
    console.log(`${caught ? 'caught    ' : 'NOT CAUGHT'} ${c.name.padEnd(26)} ${c.invariant.padEnd(52)} ${c.test} (${seconds} s) ${why}`);
  } finally {
    spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT });
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(missed > 0 ? 1 : 0);
