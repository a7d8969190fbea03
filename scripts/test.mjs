#!/usr/bin/env node
/**
 * `npm test`: every check, in order, each streaming its own output, then one line
 * `N passed, N failed` that .ci/run relies on being the last line of output.
 *
 * Counting: typecheck and lint are one check each; vitest contributes its own test counts.
 * A suite that crashes or exits non-zero without reporting a failure counts as one failure, so
 * a broken tool can never turn into a green run. Under CI=true each suite's duration is printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const IS_CI = process.env.CI === 'true' || process.env.CI === '1';

// Nothing may reach the network except npm and apt: turbo's telemetry and update check are off.
const ENV = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  DO_NOT_TRACK: '1',
};

/** Runs a command with inherited stdio; resolves to its exit code, or null if it could not run or was killed. */
function run(command, args) {
  return new Promise((resolvePromise) => {
    const child = spawn(join(BIN, command), args, { cwd: ROOT, env: ENV, stdio: 'inherit' });
    child.on('error', (err) => {
      console.error(`[test] could not start ${command}: ${err.message}`);
      resolvePromise(null);
    });
    child.on('close', (code, signal) => {
      if (signal) console.error(`[test] ${command} was killed by ${signal}`);
      resolvePromise(signal ? null : code);
    });
  });
}

/** A pass/fail check (typecheck, lint): one check, failed unless every step exits 0. */
async function oneCheck(steps) {
  let ok = true;
  // Every step runs even after a failure, so one `npm test` shows all the problems.
  for (const [command, args] of steps) ok = (await run(command, args)) === 0 && ok;
  return ok ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

async function vitest() {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-vitest-'));
  const reportFile = join(dir, 'report.json');
  try {
    const code = await run('vitest', [
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${reportFile}`,
    ]);
    let report;
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8'));
    } catch {
      console.error('[test] vitest wrote no JSON report; counting it as one failure');
      return { passed: 0, failed: 1 };
    }
    const passed = report.numPassedTests ?? 0;
    let failed = report.numFailedTests ?? 0;
    // A test file that fails to load (syntax error, missing import) has no failed tests in it.
    const brokenFiles = (report.testResults ?? []).filter(
      (file) =>
        file.status === 'failed' &&
        !(file.assertionResults ?? []).some((t) => t.status === 'failed'),
    ).length;
    failed += brokenFiles;
    // Unhandled errors and the like fail the run without failing a test: still a failure.
    if (code !== 0 && failed === 0) {
      console.error(`[test] vitest exited ${code} with no failed test; counting it as one failure`);
      failed = 1;
    }
    return { passed, failed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SUITES = [
  // turbo runs each workspace's `typecheck` (tsc -p) in parallel; --continue reports them all.
  { name: 'typecheck', run: () => oneCheck([['turbo', ['run', 'typecheck', '--continue']]]) },
  {
    name: 'lint',
    run: () =>
      oneCheck([
        ['eslint', ['.']],
        ['prettier', ['--check', '.', '--log-level', 'warn']],
        ['depcruise', ['--config', '.dependency-cruiser.cjs', 'packages', 'apps']],
      ]),
  },
  { name: 'vitest', run: vitest },
  // E2E HOOK: the Playwright suite (e2e/*.spec.ts against apps/server + apps/web in headless
  // Debian chromium) is added here, last, so the cheap checks fail first. Shape:
  //   { name: 'e2e', run: playwright }
  // where playwright() runs `playwright test --reporter=list,json` with
  // PLAYWRIGHT_JSON_OUTPUT_NAME pointing at a temp file, counts `stats.expected` as passed and
  // `stats.unexpected` as failed, and, like vitest(), counts a non-zero exit with no failed test
  // as one failure. When chromium is missing it installs it with apt if it can, and otherwise
  // fails with the exact command to run.
];

let passed = 0;
let failed = 0;
const lines = [];
for (const suite of SUITES) {
  console.log(`\n=== ${suite.name} ===`);
  const started = performance.now();
  let result;
  try {
    result = await suite.run();
  } catch (err) {
    console.error(`[test] ${suite.name} crashed:`, err);
    result = { passed: 0, failed: 1 };
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  passed += result.passed;
  failed += result.failed;
  const line = `${suite.name}: ${result.passed} passed, ${result.failed} failed${IS_CI ? ` in ${seconds} s` : ''}`;
  lines.push(line);
  console.log(`=== ${line} ===`);
}

console.log('');
for (const line of lines) console.log(line);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
