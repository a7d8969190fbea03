/**
 * Idle sessions: the whole server (createServer, SQLite on a temp data dir, no demo) in its own
 * process with 1,000 sessions (empty pipelines, created through SessionManager), each with two
 * stock y-websocket clients that sync and then sit idle. Reports the server's RSS empty, with
 * the sessions, and with every client connected; target ≤ 400 MB total.
 *
 * One file, three roles: the default run drives the benchmark; `--server DIR` is the server
 * process; `--load URL ID…` is a load process holding its share of the clients. The server
 * module is imported by path at run time (a benchmark does not import an app at compile time).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

const SESSIONS = Number(process.env.IDLE_SESSIONS ?? 1000);
const CLIENTS_PER_SESSION = 2;
const LOAD_PROCESSES = 4;
const IDLE_MS = 10_000;
const TARGET_MB = 400;

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const self = fileURLToPath(import.meta.url);

interface Stats {
  rss: number;
  heapUsed: number;
}

type ServerMessage =
  | { type: 'listening'; port: number }
  | { type: 'created'; ids: string[] }
  | ({ type: 'stats' } & Stats);

interface ServerModule {
  createServer(options: {
    dataDir: string;
    port: number;
    hostname: string;
    demo: boolean;
  }): Promise<{
    port: number;
    sessions: {
      create(
        input: { name: string },
        identity: undefined,
      ): Promise<{ ok: true; value: { id: string } } | { ok: false; error: unknown }>;
    };
    close(): Promise<void>;
  }>;
}

function stats(): Stats {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

async function runServer(dataDir: string): Promise<void> {
  const modulePath = join(repo, 'apps/server/src/app.ts');
  const { createServer } = (await import(modulePath)) as ServerModule;
  const server = await createServer({ dataDir, port: 0, hostname: '127.0.0.1', demo: false });
  const send = (m: ServerMessage) => process.send?.(m);
  process.on('message', (message: string) => {
    if (message === 'stats') send({ type: 'stats', ...stats() });
    if (message === 'create') {
      void (async () => {
        const ids: string[] = [];
        for (let i = 0; i < SESSIONS; i++) {
          const r = await server.sessions.create({ name: `idle ${i}` }, undefined);
          if (!r.ok) throw new Error(`create session: ${JSON.stringify(r.error)}`);
          ids.push(r.value.id);
        }
        send({ type: 'created', ids });
      })();
    }
    if (message === 'close') void server.close().then(() => process.exit(0));
  });
  send({ type: 'listening', port: server.port });
}

function connect(url: string, session: string): Promise<WebsocketProvider> {
  const provider = new WebsocketProvider(url, session, new Y.Doc(), {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  return new Promise((res) => {
    if (provider.synced) res(provider);
    else provider.once('sync', () => res(provider));
  });
}

async function runLoad(url: string, ids: string[]): Promise<void> {
  // Each stock provider adds a process 'exit' listener.
  process.setMaxListeners(0);
  const clients: WebsocketProvider[] = [];
  for (let i = 0; i < ids.length; i += 25) {
    const batch = ids
      .slice(i, i + 25)
      .flatMap((id) => Array.from({ length: CLIENTS_PER_SESSION }, () => id));
    clients.push(...(await Promise.all(batch.map((id) => connect(url, id)))));
  }
  process.send?.({ type: 'synced', clients: clients.length });
  process.on('message', (m) => {
    if (m !== 'close') return;
    for (const c of clients) c.destroy();
    setTimeout(() => process.exit(0), 200);
  });
}

function once<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((res, rej) => {
    const onMessage = (m: { type?: string }) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      res(m as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => rej(new Error(`child exited with ${code} awaiting ${type}`)));
  });
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const mb = (bytes: number) => round(bytes / 2 ** 20, 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function drive(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-idle-'));
  const server = fork(self, ['--server', dataDir], {
    cwd: repo,
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const serverStats = async () => {
    const p = once<Stats>(server, 'stats');
    server.send('stats');
    return p;
  };
  const { port } = await once<{ port: number }>(server, 'listening');
  const url = `ws://127.0.0.1:${port}/yjs`;
  await sleep(500);
  const empty = await serverStats();

  const createStart = performance.now();
  const created = once<{ ids: string[] }>(server, 'created');
  server.send('create');
  const { ids } = await created;
  const createMs = performance.now() - createStart;
  await sleep(1000);
  const withSessions = await serverStats();

  const connectStart = performance.now();
  const loads = Array.from({ length: LOAD_PROCESSES }, (_, i) => {
    const share = ids.filter((_, j) => j % LOAD_PROCESSES === i);
    return fork(self, ['--load', url, ...share], {
      cwd: repo,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  });
  const synced = await Promise.all(loads.map((l) => once<{ clients: number }>(l, 'synced')));
  const connectMs = performance.now() - connectStart;
  const clients = synced.reduce((n, s) => n + s.clients, 0);
  await sleep(IDLE_MS);
  const idle = await serverStats();

  for (const l of loads) l.send('close');
  await Promise.all(loads.map((l) => new Promise((r) => l.once('exit', r))));
  server.send('close');
  await new Promise((r) => server.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });

  console.log(
    JSON.stringify({
      bench: 'idle-sessions',
      sessions: ids.length,
      clients,
      load_processes: LOAD_PROCESSES,
      idle_s: IDLE_MS / 1000,
      create_sessions_ms: round(createMs, 0),
      connect_and_sync_ms: round(connectMs, 0),
      server_rss_mb_empty: mb(empty.rss),
      server_rss_mb_with_sessions: mb(withSessions.rss),
      server_rss_mb_idle_clients: mb(idle.rss),
      target_total_mb: TARGET_MB,
      rss_per_session_kb: round((idle.rss - empty.rss) / 1024 / ids.length, 1),
      rss_per_session_no_clients_kb: round((withSessions.rss - empty.rss) / 1024 / ids.length, 1),
      heap_mb_idle_clients: mb(idle.heapUsed),
      loadavg_1m: round(loadavg()[0] ?? Number.NaN, 1),
      node: process.version,
    }),
  );
  process.exit(0);
}

const [role, ...rest] = process.argv.slice(2);
if (role === '--server') await runServer(rest[0] as string);
else if (role === '--load') await runLoad(rest[0] as string, rest.slice(1));
else await drive();
