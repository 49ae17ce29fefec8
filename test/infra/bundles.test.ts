/**
 * Every Lambda bundle as the stack builds it (`lib/lambda-bundling.ts`) loads on its own, outside the project (no
 * node_modules to fall back on) and with the functions' NODE_OPTIONS, exports its handler, and leaves out only what never runs on Lambda: the SDK's
 * profile/SSO/STS credential providers, and its event-stream code where the SDK would load it lazily.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { esbuildOptions, FUNCTION_ENTRIES, LAMBDA_NODE_OPTIONS } from '../../lib/lambda-bundling.js';

const ROOT = resolve(import.meta.dirname, '../..');
const out = mkdtempSync(join(tmpdir(), 'maintctl-bundle-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the Lambda bundles', () => {
  it.each(Object.entries(FUNCTION_ENTRIES))('%s loads alone and exports its handler', async (name, fn) => {
    const file = join(out, name, 'index.mjs');
    const { metafile } = await build({
      ...esbuildOptions(fn, file),
      absWorkingDir: ROOT,
      metafile: true,
      logLevel: 'error',
    });
    const exported = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(typeof m.handler);`,
      ],
      { encoding: 'utf8', cwd: out, env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: LAMBDA_NODE_OPTIONS } },
    );
    expect(exported).toBe('function');

    const inputs = Object.keys((metafile as Metafile).inputs);
    expect(
      inputs.filter((i) => /credential-provider-(ini|sso|process|web-identity|node)|nested-clients/.test(i)),
    ).toEqual([]);
    const externals = Object.values((metafile as Metafile).inputs).flatMap((i) =>
      i.imports.filter((imp) => imp.external && !imp.path.startsWith('node:')).map((imp) => `${imp.kind} ${imp.path}`),
    );
    // health carries no SDK client (it reads nothing; it carries the OpenAPI document), so nothing at all.
    const lazy = fn.sdkEventStreams || name === 'health' ? [] : ['dynamic-import @smithy/core/event-streams'];
    expect([...new Set(externals)]).toEqual(lazy);
  });
});
