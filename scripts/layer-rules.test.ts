/**
 * Proves the layer rules bite: a lint rule that never fires looks exactly like a lint rule that
 * passes. dependency-cruiser runs, with the repo's real config, over a throw-away tree that
 * mirrors the monorepo (workspace packages linked under node_modules/@patchbay like npm does)
 * and holds one violating file per rule; ESLint lints scratch text as if it sat in each package.
 */
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/** Workspace packages of the fixture: name → folder. Each exports ./src/index.ts like the real ones. */
const WORKSPACES = {
  '@patchbay/protocol': 'packages/protocol',
  '@patchbay/engine': 'packages/engine',
  '@patchbay/codecs': 'packages/codecs',
  '@patchbay/server': 'apps/server',
  '@patchbay/web': 'apps/web',
  patchbay: 'apps/cli',
} as const;

/** Files that must pass: workspace imports through the package entry and extensionless relative imports. */
const CLEAN_FILES: Record<string, string> = {
  'packages/protocol/src/index.ts': "import { z } from 'zod';\nexport const P = z.string();\n",
  'packages/engine/src/core.ts': "import { P } from '@patchbay/protocol';\nexport const E = P;\n",
  'packages/engine/src/index.ts': "export { E } from './core';\n",
  'packages/codecs/src/index.ts':
    "import { E } from '@patchbay/engine';\nimport { P } from '@patchbay/protocol';\nexport const C = [E, P];\n",
  'apps/server/src/index.ts':
    "import { readFileSync } from 'node:fs';\nimport { C } from '@patchbay/codecs';\nexport const S = [C, readFileSync];\n",
  'apps/web/src/index.ts': "import { E } from '@patchbay/engine';\nexport const W = E;\n",
  'apps/cli/src/index.ts': "import { E } from '@patchbay/engine';\nexport const CLI = E;\n",
};

/** One violating file per case, and the rule(s) it must trip. */
const VIOLATIONS: { file: string; source: string; rules: string[] }[] = [
  {
    file: 'packages/engine/src/uses-fs.ts',
    source: "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
    rules: ['engine-pure'],
  },
  {
    file: 'packages/engine/src/uses-host-lib.ts',
    source: "import lib from 'host-lib';\nexport const h = lib;\n",
    rules: ['engine-pure'],
  },
  {
    file: 'packages/engine/src/uses-codecs.ts',
    source: "import { C } from '@patchbay/codecs';\nexport const c = C;\n",
    rules: ['engine-pure'],
  },
  // Type-only on purpose: `import type` is erased at runtime but is still an arrow the wrong way.
  {
    file: 'packages/protocol/src/uses-engine.ts',
    source: "import type { E } from '@patchbay/engine';\nexport type T = typeof E;\n",
    rules: ['protocol-is-a-leaf'],
  },
  {
    file: 'packages/protocol/src/uses-path.ts',
    source: "import { join } from 'path';\nexport const j = join;\n",
    rules: ['protocol-no-node-builtins'],
  },
  {
    file: 'packages/protocol/src/uses-host-lib.ts',
    source: "import lib from 'host-lib';\nexport const h = lib;\n",
    rules: ['protocol-no-host-libs'],
  },
  {
    file: 'packages/codecs/src/uses-server.ts',
    source: "import { S } from '@patchbay/server';\nexport const s = S;\n",
    rules: ['no-app-imports'],
  },
  {
    file: 'packages/engine/src/uses-app-relative.ts',
    source: "import { S } from '../../../apps/server/src/index';\nexport const s = S;\n",
    rules: ['no-app-imports', 'engine-pure'],
  },
  {
    file: 'apps/cli/src/uses-server.ts',
    source: "import { S } from '@patchbay/server';\nexport const s = S;\n",
    rules: ['apps-are-islands'],
  },
  {
    file: 'apps/server/src/deep.ts',
    source: "import { E } from '../../../packages/engine/src/core';\nexport const e = E;\n",
    rules: ['no-deep-imports'],
  },
  {
    file: 'apps/web/src/uses-fs.ts',
    source: "import { readFileSync } from 'fs';\nexport const r = readFileSync;\n",
    rules: ['web-runs-in-the-browser'],
  },
  {
    file: 'apps/web/src/uses-codecs.ts',
    source: "import { C } from '@patchbay/codecs';\nexport const c = C;\n",
    rules: ['web-no-codecs'],
  },
  {
    file: 'packages/codecs/src/typo.ts',
    source: "import { nothing } from './does-not-exist';\nexport const n = nothing;\n",
    rules: ['no-unresolvable'],
  },
];

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/**
 * The json reporter always exits 0; `summary.error` is what the default reporter (the one
 * `npm run lint` uses) returns as its exit code, so asserting it asserts lint fails.
 */
function depcruise(cwd: string): { errors: number; violations: Violation[] } {
  const run = spawnSync(
    process.execPath,
    [DEPCRUISE, '--config', CONFIG, '--output-type', 'json', 'packages', 'apps'],
    {
      cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (run.status !== 0 || !run.stdout)
    throw new Error(`depcruise crashed (${run.status}): ${run.stderr}`);
  const { summary } = JSON.parse(run.stdout) as {
    summary: { error: number; violations: Violation[] };
  };
  return { errors: summary.error, violations: summary.violations };
}

function write(base: string, file: string, text: string): void {
  mkdirSync(dirname(join(base, file)), { recursive: true });
  writeFileSync(join(base, file), text);
}

describe('layer rules (dependency-cruiser)', () => {
  let fixture = '';

  beforeAll(() => {
    // realpath: the resolver follows symlinks, so paths must not start under a linked tmp dir.
    fixture = realpathSync(mkdtempSync(join(tmpdir(), 'patchbay-layers-')));
    copyFileSync(join(ROOT, 'tsconfig.base.json'), join(fixture, 'tsconfig.base.json'));
    write(
      fixture,
      'package.json',
      JSON.stringify({
        name: 'fixture',
        private: true,
        dependencies: { zod: '*', 'host-lib': '*' },
      }),
    );
    for (const [name, folder] of Object.entries(WORKSPACES)) {
      write(
        fixture,
        `${folder}/package.json`,
        JSON.stringify({ name, type: 'module', exports: { '.': './src/index.ts' } }),
      );
      mkdirSync(dirname(join(fixture, 'node_modules', name)), { recursive: true });
      symlinkSync(join(fixture, folder), join(fixture, 'node_modules', name), 'dir');
    }
    for (const lib of ['zod', 'host-lib']) {
      write(
        fixture,
        `node_modules/${lib}/package.json`,
        JSON.stringify({ name: lib, main: 'index.js' }),
      );
      write(fixture, `node_modules/${lib}/index.js`, 'module.exports = {};\n');
    }
    for (const [file, source] of Object.entries(CLEAN_FILES)) write(fixture, file, source);
  });

  afterAll(() => {
    if (fixture) rmSync(fixture, { recursive: true, force: true });
  });

  it('a tree of allowed arrows passes (workspace and extensionless imports resolve)', () => {
    const result = depcruise(fixture);
    expect(result.violations).toEqual([]);
    expect(result.errors).toBe(0);
  });

  it('each forbidden arrow trips its rule', () => {
    for (const v of VIOLATIONS) write(fixture, v.file, v.source);
    const result = depcruise(fixture);
    const found = result.violations.map((v) => `${v.from} ${v.rule.name}`).sort();
    const expected = VIOLATIONS.flatMap((v) => v.rules.map((rule) => `${v.file} ${rule}`)).sort();
    expect(found).toEqual(expected);
    expect(result.errors).toBe(expected.length);
  });

  it('the real tree passes', () => {
    const result = depcruise(ROOT);
    expect(result.violations.map((v) => `${v.from} → ${v.to} (${v.rule.name})`)).toEqual([]);
    expect(result.errors).toBe(0);
  });
});

describe('host globals (ESLint no-restricted-globals)', () => {
  const eslint = new ESLint({ cwd: ROOT });
  const SOURCE =
    "export const f = (): void => {\n  setTimeout(() => undefined, 1);\n  console.log('x');\n  process.exit(0);\n};\n";

  for (const pkg of ['engine', 'protocol']) {
    it(`packages/${pkg}/src may not use setTimeout, console or process`, async () => {
      const [report] = await eslint.lintText(SOURCE, {
        filePath: join(ROOT, `packages/${pkg}/src/scratch.ts`),
      });
      const hits = report?.messages
        .filter((m) => m.ruleId === 'no-restricted-globals')
        .map((m) => m.message.split("'")[1]);
      expect(hits).toEqual(['setTimeout', 'console', 'process']);
    });
  }

  it('apps/server may use them', async () => {
    const [report] = await eslint.lintText(SOURCE, {
      filePath: join(ROOT, 'apps/server/src/scratch.ts'),
    });
    expect(report?.messages).toEqual([]);
  });
});
