/**
 * The end-to-end suite: real apps/server (with the built apps/web) on a fresh data directory,
 * driven in headless Debian Chromium (`PATCHBAY_CHROMIUM`, set by scripts/test.mjs; Playwright's
 * own browser download is never used). One worker: the machine has two cores, and the specs
 * open several browser contexts each.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.PATCHBAY_E2E_PORT ?? 4791);
// Made once in the runner; workers inherit the variable, so all share one server and directory.
process.env.PATCHBAY_E2E_DATA ??= mkdtempSync(join(tmpdir(), 'patchbay-e2e-data-'));

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: 'test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  forbidOnly: process.env.CI === 'true',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    headless: true,
    launchOptions: {
      executablePath: process.env.PATCHBAY_CHROMIUM ?? '/usr/bin/chromium',
      // Root in a container: Chromium's sandbox needs user namespaces it may not have.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    },
    trace: 'retain-on-failure',
  },
  webServer: {
    command: 'node --import tsx apps/server/src/main.ts',
    cwd: '..',
    url: `http://127.0.0.1:${PORT}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      PORT: String(PORT),
      PATCHBAY_DATA_DIR: process.env.PATCHBAY_E2E_DATA,
      LOG_LEVEL: 'warn',
    },
  },
});
