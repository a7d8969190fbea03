/**
 * Yjs fan-out: 200 stock y-websocket clients in one session, 20 of them writing 10 param edits/s
 * each for 20 s, against the room server running as its own process (SQLite storage, every
 * update stored before it is broadcast). Measures edit → every-other-client latency, then RSS
 * per open room (100 more rooms, one client and a small pipeline each).
 *
 * The server is apps/server's `serve-rooms.ts`, started by path (a benchmark does not import an
 * app). Clients and the clock live in this process, so latency is one clock's difference.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

// Overridable for a quick look (YJS_FANOUT_CLIENTS=20 …); the figures of record use the defaults.
const CLIENTS = Number(process.env.YJS_FANOUT_CLIENTS ?? 200);
const WRITERS = Number(process.env.YJS_FANOUT_WRITERS ?? 20);
const EDITS_PER_WRITER_PER_S = 10;
const DURATION_MS = Number(process.env.YJS_FANOUT_SECONDS ?? 20) * 1000;
const ROOMS_FOR_RSS = 100;
const SESSION = 'fanout';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const serverScript = join(repo, 'apps/server/src/yjs/testing/serve-rooms.ts');

interface Stats {
  rss: number;
  heapUsed: number;
  cpuMs: number;
  rooms: number;
  connections: number;
}

async function startServer(dataDir: string, sessions: string[]) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--expose-gc',
      // e.g. YJS_FANOUT_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
      ...(process.env.YJS_FANOUT_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      '--import',
      'tsx',
      serverScript,
      '--data-dir',
      dataDir,
      ...sessions.flatMap((s) => ['--session', s]),
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n'))
        res((JSON.parse(out.split('\n')[0] as string) as { port: number }).port);
    });
    child.once('exit', (code) => rej(new Error(`room server exited with ${code}`)));
  });
  const stats = () =>
    new Promise<Stats>((res) => {
      child.once('message', (m) => res(m as Stats));
      child.send('stats');
    });
  return { child, url: `ws://127.0.0.1:${port}/yjs`, stats };
}

function connect(url: string, session: string): Promise<WebsocketProvider> {
  const provider = new WebsocketProvider(url, session, new Y.Doc(), {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token: 'alice' },
    disableBc: true,
  });
  return new Promise((res) => {
    if (provider.synced) res(provider);
    else provider.once('sync', () => res(provider));
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Each stock provider adds a process 'exit' listener.
process.setMaxListeners(0);
const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-fanout-'));
const roomSessions = Array.from({ length: ROOMS_FOR_RSS }, (_, i) => `room-${i}`);
const server = await startServer(dataDir, [SESSION, ...roomSessions]);

// Connect in small batches, as a studio fills up.
const clients: WebsocketProvider[] = [];
while (clients.length < CLIENTS) {
  const batch = Math.min(20, CLIENTS - clients.length);
  clients.push(
    ...(await Promise.all(Array.from({ length: batch }, () => connect(server.url, SESSION)))),
  );
}
const first = clients[0] as WebsocketProvider;
first.doc.getMap('nodes').set('mix', new Y.Map<unknown>());
while (clients.some((c) => !c.doc.getMap('nodes').has('mix'))) await sleep(10);

// Edit `w<writer>` = sequence number; the send time of each is kept here by key.
const sentAt = new Map<string, number>();
const expectedEdits = Math.round((WRITERS * EDITS_PER_WRITER_PER_S * DURATION_MS) / 1000);
const latencies = new Float64Array(expectedEdits * (CLIENTS - 1) + CLIENTS * 100);
let samples = 0;
for (const client of clients) {
  const params = client.doc.getMap('nodes').get('mix') as Y.Map<number>;
  // A busy room merges a writer's consecutive edits; an edit reaches a client when it or a
  // later one of the same writer does.
  const lastSeen = new Map<string, number>();
  params.observe((event) => {
    if (event.transaction.local) return;
    const now = performance.now();
    for (const key of event.keysChanged) {
      const seq = params.get(key) ?? 0;
      for (let s = (lastSeen.get(key) ?? 0) + 1; s <= seq; s++) {
        const t = sentAt.get(`${key}:${s}`);
        if (t !== undefined && samples < latencies.length) latencies[samples++] = now - t;
      }
      lastSeen.set(key, Math.max(seq, lastSeen.get(key) ?? 0));
    }
  });
}

let edits = 0;
const timers: NodeJS.Timeout[] = [];
const serverBefore = await server.stats();
const loadCpuBefore = process.cpuUsage();
const start = performance.now();
for (let w = 0; w < WRITERS; w++) {
  const writer = clients[w] as WebsocketProvider;
  const params = writer.doc.getMap('nodes').get('mix') as Y.Map<number>;
  let seq = 0;
  // Staggered so the 200 edits/s spread over each second.
  await sleep(1000 / EDITS_PER_WRITER_PER_S / WRITERS);
  timers.push(
    setInterval(() => {
      if (performance.now() - start > DURATION_MS) return;
      seq++;
      sentAt.set(`w${w}:${seq}`, performance.now());
      params.set(`w${w}`, seq);
      edits++;
    }, 1000 / EDITS_PER_WRITER_PER_S),
  );
}
while (performance.now() - start < DURATION_MS) await sleep(100);
for (const t of timers) clearInterval(t);
await sleep(2000); // the last edits land
const sorted = latencies.slice(0, samples).sort();
const fanoutStats = await server.stats();
const elapsedMs = performance.now() - start;
const loadCpu = process.cpuUsage(loadCpuBefore);
for (const c of clients) c.destroy();
await sleep(500);

// RSS per open room: 100 more rooms, each with one client and a 20-node pipeline.
const base = await server.stats();
const roomClients = await Promise.all(roomSessions.map((s) => connect(server.url, s)));
for (const c of roomClients) {
  const nodes = c.doc.getMap('nodes');
  c.doc.transact(() => {
    for (let n = 0; n < 20; n++) {
      const p = new Y.Map<unknown>();
      nodes.set(`node${n}`, p);
      for (let k = 0; k < 8; k++) p.set(`param${k}`, k);
    }
  });
}
await sleep(1000);
const withRooms = await server.stats();
for (const c of roomClients) c.destroy();

server.child.kill('SIGTERM');
await new Promise((r) => server.child.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    bench: 'yjs-fanout',
    clients: CLIENTS,
    writers: WRITERS,
    edits_per_writer_per_s: EDITS_PER_WRITER_PER_S,
    duration_s: DURATION_MS / 1000,
    edits,
    deliveries: samples,
    expected_deliveries: edits * (CLIENTS - 1),
    latency_p50_ms: round(percentile(sorted, 50)),
    latency_p99_ms: round(percentile(sorted, 99)),
    latency_max_ms: round(sorted.at(-1) ?? Number.NaN),
    target_p99_ms: 10,
    server_rss_mb_during_fanout: round(fanoutStats.rss / 2 ** 20, 1),
    // Share of one core; the load process holds all 200 clients, so it is the busier one.
    server_cpu_pct: round(((fanoutStats.cpuMs - serverBefore.cpuMs) / elapsedMs) * 100, 0),
    load_cpu_pct: round(((loadCpu.user + loadCpu.system) / 1000 / elapsedMs) * 100, 0),
    // CPU per delivered edit: what the latency would cost on an idle machine.
    server_cpu_us_per_delivery: round(
      ((fanoutStats.cpuMs - serverBefore.cpuMs) * 1000) / samples,
      1,
    ),
    load_cpu_us_per_delivery: round((loadCpu.user + loadCpu.system) / samples, 1),
    // Other work on the machine skews latency; this says how much there was.
    loadavg_1m: round(loadavg()[0] ?? Number.NaN, 1),
    rooms_measured: withRooms.rooms - base.rooms,
    rss_per_room_mb: round((withRooms.rss - base.rss) / 2 ** 20 / ROOMS_FOR_RSS, 3),
    heap_per_room_kb: round((withRooms.heapUsed - base.heapUsed) / 1024 / ROOMS_FOR_RSS, 1),
    node: process.version,
  }),
);
process.exit(0);
