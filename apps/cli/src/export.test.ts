import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const BIN = resolve(import.meta.dirname, '..', 'bin', 'patchbay.mjs');
const TOKEN = 'cli-export-token';

let server: ChildProcess;
let url = '';
let dataDir = '';

/** The real server as `npm start` runs it, on a free port, with one admin token. */
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'patchbay-cli-export-'));
  server = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      PATCHBAY_DATA_DIR: dataDir,
      PATCHBAY_TOKENS: `${TOKEN}:ada:admin`,
      INIT_CWD: ROOT,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:\/\/localhost:\d+)"/.exec(out);
      if (m) resolveUrl(m[1]!);
    });
    server.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}, 60_000);

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function patchbay(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('patchbay export', () => {
  it('prints the YAML of a live session, byte-identical to the server’s export', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const created = await fetch(`${url}/api/v1/sessions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        yaml: 'name: Exported\nnodes:\n  tone: { kind: audio::sine, params: { frequency_hz: 300 } }\n',
      }),
    });
    const { id } = (await created.json()) as { id: string };
    const expected = await (
      await fetch(`${url}/api/v1/sessions/${id}/pipeline?format=yaml`, { headers: auth })
    ).text();
    const r = patchbay(['export', id, '--server', url], { PATCHBAY_TOKEN: TOKEN });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
    expect(r.stdout).toContain('frequency_hz: 300');
  });

  it('fails with the server’s reason for a missing token or an unknown session', () => {
    const denied = patchbay(['export', 's-x', '--server', url], { PATCHBAY_TOKEN: '' });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('HTTP 401');
    const missing = patchbay(['export', 's-nope', '--server', url], { PATCHBAY_TOKEN: TOKEN });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/HTTP 404.*not_found/);
  });
});
