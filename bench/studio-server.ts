/**
 * The real server as its own process for the studio benchmarks (started by path: a benchmark
 * does not import an app), on a given data directory and a free port.
 */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Starts apps/server/src/main.ts; resolves with its URL once it logs it listening. */
export async function startServer(
  dataDir: string,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
    cwd: repo,
    env: { ...process.env, PORT: '0', PATCHBAY_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
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
