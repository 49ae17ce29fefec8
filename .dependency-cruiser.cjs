/**
 * The layers' rules, checked by `npm run lint:deps` (and the unit tier): no import cycles (type imports
 * included: a cycle of types is a cycle of ideas), and a domain core that knows nothing of AWS or HTTP.
 */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'domain-is-pure',
      comment: 'The domain core (rules, state, budget, state strings) has no AWS, HTTP or store imports.',
      severity: 'error',
      from: { path: '^functions/domain/' },
      to: {
        path: [
          '^node_modules/@aws-sdk',
          '^node_modules/@smithy',
          '^node_modules/aws4fetch',
          '^functions/(http|store|api|compat|rollout|windows)/',
        ],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    // TypeScript 7's compiler has no API dependency-cruiser can use: swc parses the sources.
    parser: 'swc',
    exclude: { path: '^(node_modules|cdk\\.out|dist|console/dist)' },
  },
};
