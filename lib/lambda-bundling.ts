/**
 * How every Lambda function is bundled: one set of options read by `FamilyFunction` (through `NodejsFunction`)
 * and by the benchmark's P4 section and the bundle test (through esbuild's API), so what is measured and tested is
 * what is deployed.
 */
import type { BuildOptions } from 'esbuild';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FAMILIES, type Family } from '../functions/http/routes.js';

export interface FunctionEntry {
  /** The handler module, relative to the project root. */
  readonly entry: string;
  /**
   * Uses an SDK client that loads its event-stream support up front (the Lambda client does): keep it in the
   * bundle. @default false: the SDK loads it lazily, for streaming operations only, and no function calls one
   */
  readonly sdkEventStreams?: boolean;
}

/**
 * Every function: one per route family, the state machines' tasks, the window function, the sweeper, and the
 * change-event consumer (silences, notifications).
 */
export const FUNCTION_ENTRIES: Readonly<
  Record<Family | 'tasks' | 'window' | 'sweeper' | 'integrations', FunctionEntry>
> = {
  ...(Object.fromEntries(Object.entries(FAMILIES).map(([family, entry]) => [family, { entry }])) as Record<
    Family,
    FunctionEntry
  >),
  tasks: { entry: 'functions/rollout/runtime.ts' },
  window: { entry: 'functions/windows/runtime.ts' },
  sweeper: { entry: 'functions/sweeper.ts' },
  integrations: { entry: 'functions/integrations/runtime.ts' },
};

/** Lambda gives a function its role's credentials in environment variables: the other providers never run there. */
const CREDENTIALS_ALIAS = '@aws-sdk/credential-provider-node=./functions/lambda-credentials.ts';
/** Imported with `await import()` by the SDK's protocols, only for operations that stream events. */
const SDK_EVENT_STREAMS = '@smithy/core/event-streams';

/**
 * How the functions run: stack traces in the logs point at the sources. Node reads each bundle's source map as it
 * loads it, so the maps carry mappings only, not the sources' text (a third of the size, a few ms of load).
 */
export const LAMBDA_NODE_OPTIONS = '--enable-source-maps';

type Bundling = BundlingOptions & {
  readonly target: string;
  readonly banner: string;
  readonly mainFields: string[];
  readonly externalModules: string[];
  readonly esbuildArgs: { readonly '--alias': string };
};

export function lambdaBundling(fn: FunctionEntry): Bundling {
  return {
    format: OutputFormat.ESM,
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    target: 'node22',
    forceDockerBundling: false,
    // The SDK clients are bundled (tree-shaken, the version tested), not taken from the runtime.
    externalModules: fn.sdkEventStreams ? [] : [SDK_EVENT_STREAMS],
    mainFields: ['module', 'main'],
    banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    esbuildArgs: { '--alias': CREDENTIALS_ALIAS },
  };
}

/** The same options for esbuild's API (the flags `NodejsFunction` passes, run from the project root). */
export function esbuildOptions(fn: FunctionEntry, outfile: string): BuildOptions {
  const bundling = lambdaBundling(fn);
  const [from, to] = bundling.esbuildArgs['--alias'].split('=') as [string, string];
  return {
    entryPoints: [fn.entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: bundling.format === OutputFormat.ESM ? 'esm' : 'cjs',
    minify: bundling.minify,
    sourcemap: bundling.sourceMap,
    sourcesContent: bundling.sourcesContent,
    target: bundling.target,
    external: [...bundling.externalModules],
    mainFields: [...bundling.mainFields],
    banner: { js: bundling.banner },
    alias: { [from]: to },
  };
}
