/** The web console: a Preact single-page app served at /console/ (locally by the HTTP server, on AWS by CloudFront). */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { nodeMachine, rolloutMachine } from '../workflows/machines.js';
import { workflowGraph } from './build/workflow-graph.js';

const GRAPHS = 'virtual:workflow-graphs';

/** The workflow drawings' data, derived from the XState machines at build time (no xstate in the bundle). */
function workflowGraphs(): Plugin {
  return {
    name: 'maintctl-workflow-graphs',
    resolveId: (id) => (id === GRAPHS ? `\0${GRAPHS}` : undefined),
    load: (id) =>
      id === `\0${GRAPHS}`
        ? `export default ${JSON.stringify({ rollout: workflowGraph(rolloutMachine), node: workflowGraph(nodeMachine) })};`
        : undefined,
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [workflowGraphs()],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  // `npx vite --config console/vite.config.ts` while `npm start` runs: the console live, the API proxied.
  server: { proxy: { '/v1': process.env.MAINTCTL_URL ?? 'http://127.0.0.1:8989' } },
  logLevel: 'warn',
});
