#!/usr/bin/env node
/**
 * `npm run bench`: runs every benchmark in this folder one after another (never in parallel:
 * the machine has two cores and they would skew each other) and passes their JSON lines through.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const HELPERS = new Set(['node-clock.ts', 'studio-server.ts']);
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !HELPERS.has(f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
for (const file of benches) {
  process.stderr.write(`[bench] ${file}\n`);
  const r = spawnSync(join(here, '..', 'node_modules', '.bin', 'tsx'), [join(here, file)], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`[bench] ${file} exited ${r.status}\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
