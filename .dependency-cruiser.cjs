/**
 * Layer "swimlanes": arrows go apps → packages, engine → protocol, codecs → protocol (+ engine's
 * node API), and nothing imports an app. Run by `npm run lint` (part of `npm test`);
 * scripts/layer-rules.test.ts proves each rule fires on a violating file.
 *
 * Paths are relative to the cwd depcruise runs in (the repo root), e.g. `packages/engine/src/x.ts`.
 * Node built-ins are matched by dependency type `core`, which covers both `fs` and `node:fs`.
 */
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
      name: 'no-deep-imports',
      comment:
        'Another workspace is reached through its package entry (src/index.ts), never its internals.',
      severity: 'error',
      from: { path: '^(packages|apps)/([^/]+)/' },
      to: { path: '^packages/', pathNot: ['^$1/$2/', '^packages/[^/]+/src/index\\.ts$'] },
    },
    {
      name: 'protocol-is-a-leaf',
      comment: 'protocol imports no other workspace package.',
      severity: 'error',
      from: { path: '^packages/protocol/src' },
      to: { path: '^packages/', pathNot: '^packages/protocol/' },
    },
    {
      name: 'protocol-no-node-builtins',
      comment: 'protocol runs in any JS runtime: no Node built-ins.',
      severity: 'error',
      from: { path: '^packages/protocol/src', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'protocol-no-host-libs',
      comment: 'protocol depends on zod and yaml only.',
      severity: 'error',
      from: { path: '^packages/protocol/src', pathNot: '\\.test\\.ts$' },
      to: {
        dependencyTypes: [
          'npm',
          'npm-dev',
          'npm-optional',
          'npm-peer',
          'npm-no-pkg',
          'npm-unknown',
        ],
        pathNot: 'node_modules/(zod|yaml)/',
      },
    },
    {
      name: 'engine-pure',
      comment:
        'engine: only itself, protocol, zod and a pure JSON Schema validator; no Node built-ins, no server or browser libraries, no codecs, no inference runtime.',
      severity: 'error',
      // Tests run under vitest on Node and may use it; the shipped engine may not.
      from: { path: '^packages/engine/src', pathNot: '\\.test\\.ts$' },
      to: { pathNot: '^packages/(engine|protocol)/|node_modules/(zod|@cfworker/json-schema)/' },
    },
    {
      name: 'codecs-no-server-or-browser-libs',
      comment:
        'codecs host encoders for any Node host (server, CLI, bench); no web framework or UI code.',
      severity: 'error',
      from: { path: '^packages/codecs/src' },
      to: { path: 'node_modules/(react|react-dom|hono|@hono)/' },
    },
    {
      name: 'document-pure',
      comment:
        'document (the shared Yjs pipeline model) runs in the server and the browser: only itself, protocol, yjs and zod.',
      severity: 'error',
      from: { path: '^packages/document/src', pathNot: '\\.test\\.ts$' },
      to: { pathNot: '^packages/(document|protocol)/|node_modules/(yjs|lib0|zod)/' },
    },
    {
      name: 'inference-no-server-or-browser-libs',
      comment:
        'inference hosts models and files for any Node host (server, CLI, bench); no web framework or UI code outside its test servers.',
      severity: 'error',
      from: { path: '^packages/inference/src', pathNot: '(\\.test\\.ts$|/testing/)' },
      to: { path: 'node_modules/(react|react-dom|hono|@hono)/' },
    },
    {
      name: 'web-runs-in-the-browser',
      comment:
        'apps/web is bundled for the browser: no Node built-ins and no codecs (worker threads, processes).',
      severity: 'error',
      from: { path: '^apps/web/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'web-no-codecs',
      comment: 'codecs need worker threads and child processes; the browser has neither.',
      severity: 'error',
      from: { path: '^apps/web/' },
      to: { path: '^packages/codecs/' },
    },
    {
      name: 'no-unresolvable',
      comment:
        'Every import resolves. Besides catching typos this keeps the other rules honest: if TypeScript ' +
        'resolution broke, imports would silently drop out of the graph instead of failing a rule.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { pathNot: '\\.test\\.ts$' } },
    },
  ],
  options: {
    // npm packages stay in the graph as leaves (so the rules above can name them) but are not
    // cruised into.
    doNotFollow: { path: 'node_modules' },
    // Our own declaration files, generated kernels and build output (the studio's `dist/`) are
    // not source; packages' files are never excluded, or an import of one would vanish from the
    // graph instead of meeting a rule.
    exclude: { path: '^(packages|apps)/.*(\\.d\\.ts$|/generated/|/dist/)' },
    tsConfig: { fileName: 'tsconfig.base.json' },
    // Type-only imports count: an `import type` from an app is still an arrow the wrong way.
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'],
    },
  },
};
