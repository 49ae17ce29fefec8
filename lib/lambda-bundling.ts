/**
 * How every Lambda function is bundled: one options object read by `FamilyFunction` (through `NodejsFunction`)
 * and by the benchmark's P4 section (through esbuild's API), so the measured bundles are the deployed ones.
 */
import type { BuildOptions } from 'esbuild';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FAMILIES } from '../functions/http/routes.js';

/** Every function's handler module: one per route family, the state machines' tasks, the window function, the sweeper. */
export const FUNCTION_ENTRIES = {
  ...FAMILIES,
  tasks: 'functions/rollout/runtime.ts',
  window: 'functions/windows/runtime.ts',
  sweeper: 'functions/sweeper.ts',
} as const;

/** Lambda gives a function its role's credentials in environment variables: the other providers never run there. */
const CREDENTIALS_ALIAS = '@aws-sdk/credential-provider-node=./functions/lambda-credentials.ts';

export const LAMBDA_BUNDLING: BundlingOptions & { readonly target: string; readonly banner: string; readonly mainFields: string[]; readonly esbuildArgs: { readonly '--alias': string } } = {
  format: OutputFormat.ESM,
  minify: true,
  sourceMap: true,
  target: 'node22',
  forceDockerBundling: false,
  // The SDK clients are bundled (tree-shaken, one version tested), not taken from the runtime.
  externalModules: [],
  mainFields: ['module', 'main'],
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  esbuildArgs: { '--alias': CREDENTIALS_ALIAS },
};

/** The same options for esbuild's API (the flags `NodejsFunction` passes, run from the project root). */
export function esbuildOptions(entry: string, outfile: string): BuildOptions {
  const [from, to] = LAMBDA_BUNDLING.esbuildArgs['--alias'].split('=') as [string, string];
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: LAMBDA_BUNDLING.format === OutputFormat.ESM ? 'esm' : 'cjs',
    minify: LAMBDA_BUNDLING.minify,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    target: LAMBDA_BUNDLING.target,
    external: [...(LAMBDA_BUNDLING.externalModules ?? [])],
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    banner: { js: LAMBDA_BUNDLING.banner },
    alias: { [from]: to },
  };
}
