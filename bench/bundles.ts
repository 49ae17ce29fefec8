/**
 * P4 (README "Measured"): each Lambda function's bundle, built by esbuild with the very options the stack deploys
 * (`lib/lambda-bundling.ts`), its size, what dominates it (esbuild's metafile), and its module load time here: the
 * median of `import()` of the bundle in fresh Node processes (this Node, 22 via the devDependency: Lambda's
 * nodejs22.x), with the functions' NODE_OPTIONS (source maps on). `npm run bench:bundles` alone; `npm run bench` includes it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { esbuildOptions, FUNCTION_ENTRIES, LAMBDA_NODE_OPTIONS } from '../lib/lambda-bundling.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_TARGET_BYTES = 300_000;
export const LOAD_TARGET_MS = 60;
const RUNS = Number(process.env.BENCH_LOAD_RUNS ?? 15);

export interface BundleFigure {
  function: string;
  entry: string;
  bytes: number;
  sourceMapBytes: number;
  loadMedianMs: number;
  loadMinMs: number;
  loadMaxMs: number;
  /** The largest packages (or source folders) in the bundle, bytes of output each. */
  largest: Record<string, number>;
  pass: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One fresh process per sample, with the functions' NODE_OPTIONS: the time `import()` of the bundle takes, its source map and module evaluation included. */
function loadTimeMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  return Number(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', NODE_OPTIONS: LAMBDA_NODE_OPTIONS },
    }),
  );
}

export async function benchBundles(log: (message: string) => void = console.log): Promise<BundleFigure[]> {
  const out = mkdtempSync(join(tmpdir(), 'maintctl-bundles-'));
  try {
    const built: { name: string; entry: string; file: string; largest: Record<string, number> }[] = [];
    for (const [name, fn] of Object.entries(FUNCTION_ENTRIES)) {
      const { entry } = fn;
      const file = join(out, name, 'index.mjs');
      const result = await build({
        ...esbuildOptions(fn, file),
        absWorkingDir: ROOT,
        metafile: true,
        logLevel: 'error',
      });
      const byPackage = new Map<string, number>();
      for (const [input, info] of Object.entries(
        Object.values(result.metafile.outputs).find((o) => o.entryPoint)!.inputs,
      )) {
        const pkg = input.match(/node_modules\/((@[^/]+\/)?[^/]+)/)?.[1] ?? input.split('/').slice(0, 2).join('/');
        byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + info.bytesInOutput);
      }
      built.push({
        name,
        entry,
        file,
        largest: Object.fromEntries([...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 6)),
      });
    }
    // Round-robin over the functions: a busy moment of this shared machine falls on all of them alike.
    const samples = new Map(built.map((b) => [b.name, [] as number[]]));
    for (let run = 0; run < RUNS; run++) for (const b of built) samples.get(b.name)!.push(loadTimeMs(b.file));
    return built.map(({ name, entry, file, largest }) => {
      const xs = samples.get(name)!;
      const figure: BundleFigure = {
        function: name,
        entry,
        bytes: statSync(file).size,
        sourceMapBytes: statSync(`${file}.map`).size,
        loadMedianMs: Number(median(xs).toFixed(1)),
        loadMinMs: Number(Math.min(...xs).toFixed(1)),
        loadMaxMs: Number(Math.max(...xs).toFixed(1)),
        largest,
        pass: false,
      };
      figure.pass = figure.bytes <= BUNDLE_TARGET_BYTES && figure.loadMedianMs <= LOAD_TARGET_MS;
      log(`P4 ${name}: ${(figure.bytes / 1000).toFixed(0)} KB, load median ${figure.loadMedianMs} ms`);
      return figure;
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function printBundles(figures: BundleFigure[]): void {
  const kb = (b: number) => `${(b / 1000).toFixed(0)} KB`;
  const rows = figures.map((f) => [
    f.function,
    kb(f.bytes),
    `${f.loadMedianMs} ms (${f.loadMinMs}–${f.loadMaxMs})`,
    Object.entries(f.largest)
      .slice(0, 4)
      .map(([p, b]) => `${p} ${kb(b)}`)
      .join(', '),
    f.pass ? 'yes' : 'NO ✗',
  ]);
  const head = ['function', 'bundle', `load, median of ${RUNS}`, 'largest parts', 'pass'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(
    `\nP4 — each Lambda bundle (target ≤ ${BUNDLE_TARGET_BYTES / 1000} KB, load ≤ ${LOAD_TARGET_MS} ms median):\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const figures = await benchBundles();
  printBundles(figures);
  writeFileSync(
    join(ROOT, 'bench', 'bundles.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, runsPerFunction: RUNS, functions: figures }, null, 2)}\n`,
  );
  console.log(`\nWrote bench/bundles.json (node ${process.version}).`);
}
