/**
 * Yjs fan-out: 200 stock y-websocket clients in one session, 20 of them writing 10 param edits/s
 * each for 20 s, against the room server running as its own process (SQLite storage, every
 * update stored before it is broadcast). Measures edit → every-other-client latency, then RSS
 * per open room (100 more rooms, one client and a small pipeline each).
 *
 * One file, two roles: the default run drives the benchmark; `--load URL COUNT` is a load
 * process holding its share of the clients (clients are spread over LOAD_PROCESSES processes so
 * that decoding 40,000 deliveries/s is not one thread's queue). The server is apps/server's
 * `serve-rooms.ts`, started by path (a benchmark does not import an app).
 *
 * Clock: `process.hrtime` is CLOCK_MONOTONIC on Linux, one clock for every process on the
 * machine, so a writer's send time and a receiver's arrival time in another process compare
 * directly (wall-clock time would not: it can be stepped or slewed). Each load process keeps its
 * writers' send times and its receivers' (writer, seq, arrival) records; at the end the driver
 * hands every process all send times and each returns its latencies. A busy room merges a
 * writer's consecutive edits into one delivery; an edit reaches a client when it or a later edit
 * of the same writer does, so every edit counts once per receiving client.
 */
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

// Overridable for a quick look (YJS_FANOUT_CLIENTS=20 …); the figures of record use the defaults.
const CLIENTS = Number(process.env.YJS_FANOUT_CLIENTS ?? 200);
const WRITERS = Number(process.env.YJS_FANOUT_WRITERS ?? 20);
const LOAD_PROCESSES = Number(process.env.YJS_FANOUT_LOAD_PROCESSES ?? 4);
const EDITS_PER_WRITER_PER_S = 10;
const DURATION_MS = Number(process.env.YJS_FANOUT_SECONDS ?? 20) * 1000;
/**
 * Writers edit this long before the measured part starts: the first second of edits meets
 * every process's code still unoptimised (V8 compiling the paths of Yjs, ws and the room on
 * five processes at once), which stalls the load processes for 150–500 ms. Those edits are
 * reported apart (`warmup_latency_p99_ms`), not mixed into the steady state.
 */
const WARMUP_MS = Number(process.env.YJS_FANOUT_WARMUP_SECONDS ?? 3) * 1000;
const ROOMS_FOR_RSS = 100;
const SESSION = 'fanout';
/**
 * Scheduling priority of the server process (nice value; below 0 needs privileges). The load
 * processes stand in for 200 remote browsers: on this 2-core machine they compete with the
 * server for CPU, which a real deployment's clients do not.
 */
const SERVER_NICE = Number(process.env.YJS_FANOUT_SERVER_NICE ?? 0);
/** Where the server's data dir is made (default the OS temp dir, on disk here). */
const DATA_PARENT = process.env.YJS_FANOUT_DATA_PARENT ?? tmpdir();
/** Receiver records encode (writer, seq) as writer * SEQ_SPAN + seq. */
const SEQ_SPAN = 1_000_000;

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const self = fileURLToPath(import.meta.url);
const serverScript = join(repo, 'apps/server/src/yjs/testing/serve-rooms.ts');

/** Milliseconds on CLOCK_MONOTONIC, comparable across processes on this machine. */
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds this process's main thread has waited for a CPU while runnable (Linux). */
function schedWaitMs(): number {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/)[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

interface ServerStats {
  rss: number;
  heapUsed: number;
  cpuMs: number;
  /** The kernel's part of cpuMs (socket writes on loopback do the receiving side's work too). */
  cpuSystemMs: number;
  schedWaitMs: number | null;
  rooms: number;
  connections: number;
  /** Event-loop delay since the previous stats call, ms. */
  loop: { p50: number; p99: number; max: number };
  /** Storage call durations since the previous stats call, ms, by op. */
  storage: Record<string, { count: number; p50: number; p99: number; max: number }>;
  /** Loop stalls over 100 ms (start on CLOCK_MONOTONIC), with the CPU and run-queue wait in them. */
  stalls: { atMs: number; ms: number; cpuMs: number; waitMs: number }[];
  gcPauses: { atMs: number; ms: number; kind: number }[];
}

type LoadMessage =
  | { type: 'synced' }
  | { type: 'has_mix' }
  | { type: 'sent'; sends: [number, number[]][] }
  | {
      type: 'result';
      latencies: Float64Array;
      warmupLatencies: Float64Array;
      unmatched: number;
      cpuMs: number;
      schedWaitMs: number;
      gc: { count: number; totalMs: number; maxMs: number; over50: number };
      loop: { p99: number; max: number };
    };

type DriverMessage =
  | { type: 'create_mix' }
  | { type: 'wait_mix' }
  | { type: 'start'; atMs: number; writers: number[] }
  | { type: 'measure' }
  | { type: 'stop' }
  | { type: 'latencies'; sends: [number, number[]][]; fromMs: number }
  | { type: 'close' };

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

function next<T extends { type: string }>(child: ChildProcess, type: T['type']): Promise<T> {
  return new Promise((res, rej) => {
    const onMessage = (m: T) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      res(m);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => rej(new Error(`child exited with ${code} awaiting ${type}`)));
  });
}

/** A load process: `count` clients; the driver later names which of them write (as which writer). */
async function runLoad(url: string, count: number): Promise<void> {
  // Each stock provider adds a process 'exit' listener.
  process.setMaxListeners(0);
  const send = (m: LoadMessage) => process.send?.(m);
  const clients: WebsocketProvider[] = [];
  while (clients.length < count) {
    const batch = Math.min(10, count - clients.length);
    clients.push(
      ...(await Promise.all(Array.from({ length: batch }, () => connect(url, SESSION)))),
    );
  }
  // Growing arrays of (writer * SEQ_SPAN + seq) and arrival time.
  let codes = new Float64Array(1 << 16);
  let arrivals = new Float64Array(1 << 16);
  let records = 0;
  const record = (code: number, at: number) => {
    if (records === codes.length) {
      const c = new Float64Array(codes.length * 2);
      c.set(codes);
      codes = c;
      const a = new Float64Array(arrivals.length * 2);
      a.set(arrivals);
      arrivals = a;
    }
    codes[records] = code;
    arrivals[records++] = at;
  };
  const observeMix = (client: WebsocketProvider) => {
    const params = client.doc.getMap('nodes').get('mix') as Y.Map<number>;
    const lastSeen = new Map<string, number>();
    params.observe((event) => {
      if (event.transaction.local) return;
      const now = monoMs();
      for (const key of event.keysChanged) {
        const seq = params.get(key) ?? 0;
        const writer = Number(key.slice(1));
        for (let s = (lastSeen.get(key) ?? 0) + 1; s <= seq; s++)
          record(writer * SEQ_SPAN + s, now);
        lastSeen.set(key, Math.max(seq, lastSeen.get(key) ?? 0));
      }
    });
  };
  const hasMix = (c: WebsocketProvider) => c.doc.getMap('nodes').has('mix');
  const sends = new Map<number, number[]>();
  const timers: NodeJS.Timeout[] = [];
  let cpuBefore = process.cpuUsage();
  let waitBefore = schedWaitMs();
  // This process's own pauses: a pause here delays all of its clients at once.
  const gc = { count: 0, totalMs: 0, maxMs: 0, over50: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      if (e.duration > 50) gc.over50++;
    }
  }).observe({ entryTypes: ['gc'] });
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  let stopped = false;
  send({ type: 'synced' });

  process.on('message', (m: DriverMessage) => {
    switch (m.type) {
      case 'create_mix':
        (clients[0] as WebsocketProvider).doc.getMap('nodes').set('mix', new Y.Map<unknown>());
        return;
      case 'wait_mix':
        void (async () => {
          while (!clients.every(hasMix)) await sleep(10);
          for (const c of clients) observeMix(c);
          send({ type: 'has_mix' });
        })();
        return;
      case 'start': {
        const period = 1000 / EDITS_PER_WRITER_PER_S;
        m.writers.forEach((writer, i) => {
          const client = clients[i] as WebsocketProvider;
          const params = client.doc.getMap('nodes').get('mix') as Y.Map<number>;
          const times: number[] = [0];
          sends.set(writer, times);
          let seq = 0;
          const edit = () => {
            if (stopped) return;
            seq++;
            times[seq] = monoMs();
            params.set(`w${writer}`, seq);
          };
          // Staggered over the period so the room's 200 edits/s spread evenly.
          const firstAt = m.atMs + (writer * period) / WRITERS;
          setTimeout(
            () => {
              edit();
              timers.push(setInterval(edit, period));
            },
            Math.max(0, firstAt - monoMs()),
          );
        });
        return;
      }
      case 'measure':
        cpuBefore = process.cpuUsage();
        waitBefore = schedWaitMs();
        Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0, over50: 0 });
        loopDelay.enable();
        return;
      case 'stop':
        stopped = true;
        for (const t of timers) clearInterval(t);
        send({ type: 'sent', sends: [...sends] });
        return;
      case 'latencies': {
        const cpu = process.cpuUsage(cpuBefore);
        const sentAt = new Map(m.sends);
        const latencies = new Float64Array(records);
        const warmup: number[] = [];
        let n = 0;
        let unmatched = 0;
        for (let i = 0; i < records; i++) {
          const code = codes[i] as number;
          const t = sentAt.get(Math.floor(code / SEQ_SPAN))?.[code % SEQ_SPAN];
          if (t === undefined) unmatched++;
          else if (t >= m.fromMs) latencies[n++] = (arrivals[i] as number) - t;
          else warmup.push((arrivals[i] as number) - t);
        }
        send({
          type: 'result',
          latencies: latencies.slice(0, n),
          warmupLatencies: Float64Array.from(warmup),
          unmatched,
          cpuMs: (cpu.user + cpu.system) / 1000,
          schedWaitMs: schedWaitMs() - waitBefore,
          gc,
          loop: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
        });
        return;
      }
      case 'close':
        for (const c of clients) c.destroy();
        setTimeout(() => process.exit(0), 200);
        return;
    }
  });
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
    new Promise<ServerStats>((res) => {
      child.once('message', (m) => res(m as ServerStats));
      child.send('stats');
    });
  return { child, url: `ws://127.0.0.1:${port}/yjs`, stats };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function drive(): Promise<void> {
  process.setMaxListeners(0);
  const dataDir = mkdtempSync(join(DATA_PARENT, 'patchbay-fanout-'));
  const roomSessions = Array.from({ length: ROOMS_FOR_RSS }, (_, i) => `room-${i}`);
  const server = await startServer(dataDir, [SESSION, ...roomSessions]);
  if (SERVER_NICE !== 0) setPriority(server.child.pid as number, SERVER_NICE);

  // Clients and writers dealt round-robin over the load processes.
  const shares = Array.from({ length: LOAD_PROCESSES }, (_, i) => ({
    clients: Math.floor(CLIENTS / LOAD_PROCESSES) + (i < CLIENTS % LOAD_PROCESSES ? 1 : 0),
    writers: Array.from({ length: WRITERS }, (_, w) => w).filter((w) => w % LOAD_PROCESSES === i),
  }));
  const loads = shares.map((_, i) =>
    fork(self, ['--load', server.url, String(shares[i]?.clients)], {
      cwd: repo,
      // e.g. YJS_FANOUT_LOAD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them.
      execArgv: [
        ...(process.env.YJS_FANOUT_LOAD_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
        '--import',
        'tsx',
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    }),
  );
  const tell = (l: ChildProcess, m: DriverMessage) => l.send(m);
  await Promise.all(loads.map((l) => next(l, 'synced')));
  tell(loads[0] as ChildProcess, { type: 'create_mix' });
  await Promise.all(
    loads.map((l) => {
      const p = next(l, 'has_mix');
      tell(l, { type: 'wait_mix' });
      return p;
    }),
  );
  await sleep(1000);

  const atMs = monoMs() + 200;
  loads.forEach((l, i) => tell(l, { type: 'start', atMs, writers: shares[i]?.writers ?? [] }));
  await sleep(atMs - monoMs() + WARMUP_MS);
  // The measured part: edits sent from here on, and the CPU, GC and histograms from here on.
  await server.stats(); // resets the server's loop-delay and storage histograms
  const serverBefore = await server.stats();
  const startMs = monoMs();
  for (const l of loads) tell(l, { type: 'measure' });
  await sleep(DURATION_MS);
  const sentReplies = loads.map((l) => next<Extract<LoadMessage, { type: 'sent' }>>(l, 'sent'));
  for (const l of loads) tell(l, { type: 'stop' });
  const sends = (await Promise.all(sentReplies)).flatMap((r) => r.sends);
  await sleep(2000); // the last edits land
  const fanoutStats = await server.stats();
  const elapsedMs = monoMs() - startMs;
  const results = await Promise.all(
    loads.map((l) => {
      const p = next<Extract<LoadMessage, { type: 'result' }>>(l, 'result');
      tell(l, { type: 'latencies', sends, fromMs: startMs });
      return p;
    }),
  );
  for (const l of loads) tell(l, { type: 'close' });
  await Promise.all(loads.map((l) => new Promise((r) => l.once('exit', r))));
  await sleep(500);

  const samples = results.reduce((n, r) => n + r.latencies.length, 0);
  const sorted = new Float64Array(samples);
  let at = 0;
  for (const r of results) {
    sorted.set(r.latencies, at);
    at += r.latencies.length;
  }
  sorted.sort();
  const edits = sends.reduce((n, [, times]) => n + times.filter((t) => t >= startMs).length, 0);
  const warmupSorted = new Float64Array(results.flatMap((r) => [...r.warmupLatencies])).sort();
  const loadCpuMs = results.map((r) => r.cpuMs);
  const serverCpuMs = fanoutStats.cpuMs - serverBefore.cpuMs;

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

  const { room_fanout: roomFanout, ...storageOps } = fanoutStats.storage;
  const storage = Object.fromEntries(
    Object.entries(storageOps).map(([op, s]) => [
      op,
      { count: s.count, p50_ms: round(s.p50, 3), p99_ms: round(s.p99, 3), max_ms: round(s.max, 1) },
    ]),
  );
  console.log(
    JSON.stringify({
      bench: 'yjs-fanout',
      clients: CLIENTS,
      writers: WRITERS,
      load_processes: LOAD_PROCESSES,
      server_nice: SERVER_NICE,
      data_dir_parent: DATA_PARENT,
      edits_per_writer_per_s: EDITS_PER_WRITER_PER_S,
      duration_s: DURATION_MS / 1000,
      edits,
      deliveries: samples,
      expected_deliveries: edits * (CLIENTS - 1),
      unmatched: results.reduce((n, r) => n + r.unmatched, 0),
      latency_p50_ms: round(percentile(sorted, 50)),
      latency_p90_ms: round(percentile(sorted, 90)),
      latency_p99_ms: round(percentile(sorted, 99)),
      latency_max_ms: round(sorted.at(-1) ?? Number.NaN),
      // Negative would mean the clocks disagree; CLOCK_MONOTONIC is shared, so it is > 0.
      latency_min_ms: round(sorted[0] ?? Number.NaN, 3),
      target_p99_ms: 10,
      warmup_s: WARMUP_MS / 1000,
      warmup_latency_p99_ms: round(percentile(warmupSorted, 99)),
      server_rss_mb_during_fanout: round(fanoutStats.rss / 2 ** 20, 1),
      // Shares of one core (the machine has 2).
      server_cpu_pct: round((serverCpuMs / elapsedMs) * 100, 0),
      load_cpu_pct: loadCpuMs.map((ms) => round((ms / elapsedMs) * 100, 0)),
      // CPU per delivered edit: what the latency would cost on an idle machine.
      server_cpu_us_per_delivery: round((serverCpuMs * 1000) / samples, 1),
      server_cpu_kernel_share: round(
        (fanoutStats.cpuSystemMs - serverBefore.cpuSystemMs) / serverCpuMs,
        2,
      ),
      load_cpu_us_per_delivery: round((loadCpuMs.reduce((a, b) => a + b, 0) * 1000) / samples, 1),
      // Time spent runnable but waiting for a CPU (other processes had both cores), as a share
      // of the run: what the machine's other work added.
      server_cpu_wait_pct: round(
        (((fanoutStats.schedWaitMs ?? Number.NaN) - (serverBefore.schedWaitMs ?? Number.NaN)) /
          elapsedMs) *
          100,
        0,
      ),
      load_cpu_wait_pct: results.map((r) => round((r.schedWaitMs / elapsedMs) * 100, 0)),
      // Each load process's GC (count, total ms, longest ms, pauses over 50 ms) and loop delay.
      load_gc: results.map((r) => [
        r.gc.count,
        round(r.gc.totalMs, 0),
        round(r.gc.maxMs, 0),
        r.gc.over50,
      ]),
      load_loop_delay_ms: results.map((r) => [round(r.loop.p99, 1), round(r.loop.max, 0)]),
      server_loop_delay_ms: {
        p50: round(fanoutStats.loop.p50),
        p99: round(fanoutStats.loop.p99),
        max: round(fanoutStats.loop.max),
      },
      // The room's own part: from an update applied to it to stored and written to every socket.
      server_room_fanout_ms: roomFanout && {
        p50: round(roomFanout.p50, 3),
        p99: round(roomFanout.p99, 3),
        max: round(roomFanout.max, 1),
      },
      server_storage: storage,
      // Seconds into the run, stall length, and the server's CPU and CPU wait within it (ms).
      server_stalls: fanoutStats.stalls.map((st) => [
        round((st.atMs - startMs) / 1000, 1),
        round(st.ms, 0),
        round(st.cpuMs, 0),
        round(st.waitMs, 0),
      ]),
      server_gc_pauses_ms: fanoutStats.gcPauses.map((g) => round(g.ms, 0)),
      // Other work on the machine skews latency; this says how much there was.
      loadavg_1m: round(loadavg()[0] ?? Number.NaN, 1),
      rooms_measured: withRooms.rooms - base.rooms,
      rss_per_room_mb: round((withRooms.rss - base.rss) / 2 ** 20 / ROOMS_FOR_RSS, 3),
      heap_per_room_kb: round((withRooms.heapUsed - base.heapUsed) / 1024 / ROOMS_FOR_RSS, 1),
      node: process.version,
    }),
  );
  process.exit(0);
}

const [role, ...rest] = process.argv.slice(2);
if (role === '--load') await runLoad(rest[0] as string, Number(rest[1]));
else await drive();
