/**
 * Layer "swimlanes": arrows go apps → packages, engine → protocol, codecs → protocol (+ engine's
 * node API), and nothing imports an app. Run by `npm run lint` (part of `npm test`).
 */
const nodeBuiltins = 'node:|^(fs|path|os|child_process|worker_threads|net|http|https|crypto|stream|url|util|events|process|buffer|timers|perf_hooks)$';
module.exports = {
  forbidden: [
    {
      name: 'no-app-imports',
      comment: 'Nothing outside an app may import an app.',
      severity: 'error',
      from: { pathNot: '^apps/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-are-islands',
      comment: 'An app never imports another app.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'protocol-is-a-leaf',
      comment: 'protocol imports no other workspace package and no Node built-in.',
      severity: 'error',
      from: { path: '^packages/protocol/src' },
      to: { path: ['^packages/(engine|codecs)/', nodeBuiltins] },
    },
    {
      name: 'protocol-no-host-libs',
      severity: 'error',
      from: { path: '^packages/protocol/src' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer'], pathNot: 'node_modules/(zod|yaml)/' },
    },
    {
      name: 'engine-pure',
      comment: 'engine: only protocol and zod; no Node built-ins, no server or browser libraries, no codecs.',
      severity: 'error',
      from: { path: '^packages/engine/src', pathNot: '\\.test\\.ts$' },
      to: {
        pathNot: '^packages/(engine|protocol)/|node_modules/(zod)/',
      },
    },
    {
      name: 'codecs-no-apps-no-browser',
      severity: 'error',
      from: { path: '^packages/codecs/src' },
      to: { path: ['node_modules/(react|react-dom|hono|@hono)/'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { pathNot: '\\.test\\.ts$' } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules|\\.d\\.ts$|/generated/' },
    tsConfig: { fileName: 'tsconfig.base.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'] },
  },
};
