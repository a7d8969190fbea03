/**
 * The real server as its own process for the studio benchmarks (started by path: a benchmark
 * does not import an app), on a given data directory and a free port; and `startStudio`, that
 * server on a temporary data directory with headless Chromium (`PATCHBAY_CHROMIUM`, default
 * /usr/bin/chromium) for the studio it serves.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import type { Browser } from '@playwright/test';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Starts apps/server/src/main.ts; resolves with its URL once it logs it listening. */
export async function startServer(
  dataDir: string,
  token?: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
    cwd: repo,
    env: {
      ...process.env,
      PORT: '0',
      PATCHBAY_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...(token ? { PATCHBAY_TOKENS: `${token}:bench:admin` } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m?.[1]) res(m[1].replace('localhost', '127.0.0.1'));
    });
    child.once('exit', (code) => rej(new Error(`server exited ${code}`)));
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A running studio: its server, a browser, and a way to create sessions on it. */
export interface Studio {
  readonly url: string;
  readonly browser: Browser;
  /** Creates a session from YAML; resolves with its id. */
  createSession(name: string, yaml: string): Promise<string>;
  /** Closes the browser, stops the server and removes the data directory. */
  close(): Promise<void>;
}

/**
 * Needs the built studio (`npx vite build apps/web`). With `token`, the server requires it (one
 * admin token) and `createSession` sends it.
 */
export async function startStudio(
  dataDirPrefix: string,
  options: { token?: string } = {},
): Promise<Studio> {
  if (!existsSync(join(repo, 'apps/web/dist/index.html'))) {
    throw new Error('the studio is not built: run npx vite build apps/web first');
  }
  const dataDir = mkdtempSync(join(tmpdir(), dataDirPrefix));
  const server = await startServer(dataDir, options.token);
  const browser = await chromium.launch({
    executablePath: process.env.PATCHBAY_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  return {
    url: server.url,
    browser,
    async createSession(name, yaml) {
      const created = await fetch(`${server.url}/api/v1/sessions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        body: JSON.stringify({ name, yaml }),
      });
      if (created.status !== 201) throw new Error(`session: ${await created.text()}`);
      return ((await created.json()) as { id: string }).id;
    },
    async close() {
      await browser.close();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
