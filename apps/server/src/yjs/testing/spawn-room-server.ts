/** Starts `serve-rooms.ts` as a child process (node --import tsx) and waits for its port. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** apps/server: where `tsx` resolves from. */
const SERVER_ROOT = resolve(here, '..', '..', '..');

export interface RoomServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** `ws://127.0.0.1:<port>/yjs` */
  readonly url: string;
  /** Resolves with the exit signal or code. */
  readonly exited: Promise<NodeJS.Signals | number | null>;
}

export async function spawnRoomServer(options: {
  dataDir: string;
  sessions: readonly string[];
  nodeArgs?: readonly string[];
}): Promise<RoomServerProcess> {
  const args = [
    ...(options.nodeArgs ?? []),
    '--import',
    'tsx',
    join(here, 'serve-rooms.ts'),
    '--data-dir',
    options.dataDir,
    ...options.sessions.flatMap((s) => ['--session', s]),
  ];
  // Node itself is the child (not the tsx CLI, which would run the server as a grandchild
  // that a signal to the child does not reach).
  const child = spawn(process.execPath, args, {
    cwd: SERVER_ROOT,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    child.once('exit', (code, signal) => r(signal ?? code)),
  );
  const port = await new Promise<number>((resolvePort, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined)
        resolvePort((JSON.parse(line) as { port: number }).port);
    });
    void exited.then((how) =>
      reject(new Error(`room server exited (${String(how)}) before listening`)),
    );
  });
  return { child, port, url: `ws://127.0.0.1:${port}/yjs`, exited };
}
