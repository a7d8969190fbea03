// One flat config for the monorepo. Layer boundaries live in .dependency-cruiser.cjs;
// the rules here keep the engine and protocol free of host globals even where a type
// would let one through (e.g. a value typed `any`).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const hostGlobals = [
  'process',
  'Buffer',
  'require',
  'module',
  '__dirname',
  '__filename',
  'global',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'queueMicrotask',
  'console',
  'window',
  'document',
  'navigator',
  'fetch',
  'performance',
  'localStorage',
  'WebSocket',
  'Worker',
  'crypto',
].map((name) => ({
  name,
  message: 'Pure packages get the world injected (clock, logger, spawner).',
}));

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'data/**',
      '**/generated/**',
      '**/*.wasm',
      'packages/engine/assembly/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'index.ts re-exports by name; no export *.' },
        { selector: 'TSEnumDeclaration', message: 'Use a const object and a derived type.' },
      ],
    },
  },
  {
    files: [
      'packages/engine/src/**/*.ts',
      'packages/protocol/src/**/*.ts',
      'packages/document/src/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    languageOptions: { globals: {} },
    rules: { 'no-restricted-globals': ['error', ...hostGlobals] },
  },
);
