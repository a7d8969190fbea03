#!/usr/bin/env node
/**
 * `npm test`: every check, in order, each streaming its own output, then one line
 * `N passed, N failed` that .ci/run relies on being the last line of output.
 *
 * Counting: typecheck and lint are one check each; vitest contributes its own test counts.
 * A suite that crashes or exits non-zero without reporting a failure counts as one failure, so
 * a broken tool can never turn into a green run. Under CI=true each suite's duration is printed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * Runs a command from node_modules/.bin (or an absolute path) with inherited stdio; resolves to
 * its exit code, or null if it could not run or was killed.
 */
function run(command, args, env = ENV) {
  return new Promise((resolvePromise) => {
    const file = command.startsWith('/') ? command : join(BIN, command);
    const child = spawn(file, args, { cwd: ROOT, env, stdio: 'inherit' });
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

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/**
 * The Chromium the e2e suite drives: PATCHBAY_CHROMIUM, else Debian's. When it is missing it is
 * installed with apt if this process may (root, apt-get present); otherwise the exact command
 * to run is printed and null returned. Playwright's own browser download is never used.
 */
async function ensureChromium() {
  const configured = process.env.PATCHBAY_CHROMIUM;
  if (configured) {
    if (existsSync(configured)) return configured;
    console.error(`[test] PATCHBAY_CHROMIUM=${configured} does not exist`);
    return null;
  }
  const found = () => CHROMIUM_CANDIDATES.find((path) => existsSync(path));
  if (found()) return found();
  const canApt = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!canApt) {
    console.error(
      '[test] Chromium is missing. Install it with: sudo apt-get install -y chromium ' +
        '(or set PATCHBAY_CHROMIUM to a Chromium binary), then run npm test again.',
    );
    return null;
  }
  console.log('[test] Chromium is missing: installing Debian chromium with apt-get');
  const aptEnv = { ...ENV, DEBIAN_FRONTEND: 'noninteractive' };
  if ((await run('/usr/bin/apt-get', ['update', '-qq'], aptEnv)) !== 0) return null;
  const installed = await run(
    '/usr/bin/apt-get',
    ['install', '-y', '-qq', '--no-install-recommends', 'chromium', 'fonts-dejavu-core'],
    aptEnv,
  );
  return installed === 0 ? (found() ?? null) : null;
}

/** Builds the studio, then runs e2e/ with Playwright against a server the config starts. */
async function e2e() {
  const chromium = await ensureChromium();
  if (!chromium) return { passed: 0, failed: 1 };
  try {
    console.log(`[test] ${execFileSync(chromium, ['--version'], { encoding: 'utf8' }).trim()}`);
  } catch {
    console.error(`[test] ${chromium} does not run`);
    return { passed: 0, failed: 1 };
  }
  if ((await run('vite', ['build', 'apps/web', '--logLevel', 'warn'])) !== 0) {
    console.error('[test] the web studio did not build');
    return { passed: 0, failed: 1 };
  }
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-e2e-'));
  const reportFile = join(dir, 'report.json');
  try {
    const code = await run(
      'playwright',
      ['test', '--config', 'e2e/playwright.config.ts', '--reporter=list,json'],
      { ...ENV, PATCHBAY_CHROMIUM: chromium, PLAYWRIGHT_JSON_OUTPUT_NAME: reportFile },
    );
    let report;
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8'));
    } catch {
      console.error('[test] Playwright wrote no JSON report; counting it as one failure');
      return { passed: 0, failed: 1 };
    }
    const stats = report.stats ?? {};
    const passed = (stats.expected ?? 0) + (stats.flaky ?? 0);
    let failed = stats.unexpected ?? 0;
    // Errors outside tests (config, global setup, a web server that never came up).
    failed += (report.errors ?? []).length;
    if (code !== 0 && failed === 0) {
      console.error(`[test] Playwright exited ${code} with no failed test; counting one failure`);
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
  // Last, so the cheap checks fail first: the Playwright suite in headless Debian chromium.
  { name: 'e2e', run: e2e },
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
