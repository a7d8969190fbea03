/**
 * The floor under `yjs-fanout.ts` on this machine: the same traffic with everything but the
 * sockets taken away. A relay process (plain TCP, no WebSocket framing, no Yjs, no storage)
 * writes every 16-byte message it receives to each of the other 199 connections; 4 load
 * processes hold 50 connections each, 20 of which send 10 messages/s each, staggered as in
 * `yjs-fanout.ts`. Latency is send → arrival at every other connection on CLOCK_MONOTONIC.
 *
 * Two rounds: receivers that only record the arrival, and receivers that also spend
 * RECEIVE_WORK_US of CPU per message (default 34 µs, what a stock y-websocket client costs per
 * delivery in `yjs-fanout.ts`). Whatever p99 this prints, a Yjs server on the same machine
 * cannot beat it.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const CLIENTS = 200;
const WRITERS = 20;
const LOAD_PROCESSES = 4;
const MESSAGES_PER_WRITER_PER_S = 10;
const SECONDS = Number(process.env.FLOOR_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const RECEIVE_WORK_US = Number(process.env.RECEIVE_WORK_US ?? 34);
/** writer u32, seq u32, sent at (ms, CLOCK_MONOTONIC) f64. */
const RECORD_BYTES = 16;

const self = fileURLToPath(import.meta.url);
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

type ToLoad =
  { type: 'start'; atMs: number; untilMs: number; writers: number[] } | { type: 'report' };
type FromLoad = { type: 'ready' } | { type: 'latencies'; latencies: Float64Array; cpuMs: number };

/** Relay: every record from one connection goes to all the others, one write per connection. */
function runRelay(): void {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    let rest: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      const whole = data.length - (data.length % RECORD_BYTES);
      rest = data.subarray(whole);
      if (whole === 0) return;
      const out = data.subarray(0, whole);
      for (const other of sockets) if (other !== socket) other.write(out);
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address !== null && typeof address === 'object') process.send?.({ port: address.port });
  });
}

/** Load: `count` connections; the driver names which of them write. */
function runLoad(port: number, count: number, workUs: number): void {
  const send = (m: FromLoad) => process.send?.(m);
  const latencies: number[] = [];
  let measureFrom = Number.POSITIVE_INFINITY;
  const sockets: Socket[] = [];
  let connected = 0;
  for (let i = 0; i < count; i++) {
    const socket = createConnection(port, '127.0.0.1', () => {
      if (++connected === count) send({ type: 'ready' });
    });
    socket.setNoDelay(true);
    let rest: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      const whole = data.length - (data.length % RECORD_BYTES);
      rest = Buffer.from(data.subarray(whole));
      const now = monoMs();
      for (let at = 0; at < whole; at += RECORD_BYTES) {
        const sentAt = data.readDoubleLE(at + 8);
        if (sentAt >= measureFrom) latencies.push(now - sentAt);
        if (workUs > 0) {
          const until = process.hrtime.bigint() + BigInt(Math.round(workUs * 1000));
          while (process.hrtime.bigint() < until);
        }
      }
    });
    sockets.push(socket);
  }
  let cpuBefore = process.cpuUsage();
  process.on('message', (m: ToLoad) => {
    if (m.type === 'start') {
      measureFrom = m.atMs + WARMUP_SECONDS * 1000;
      setTimeout(() => (cpuBefore = process.cpuUsage()), measureFrom - monoMs());
      const period = 1000 / MESSAGES_PER_WRITER_PER_S;
      m.writers.forEach((writer, i) => {
        const socket = sockets[i] as Socket;
        let seq = 0;
        const tick = () => {
          if (monoMs() >= m.untilMs) return;
          const record = Buffer.alloc(RECORD_BYTES);
          record.writeUInt32LE(writer, 0);
          record.writeUInt32LE(++seq, 4);
          record.writeDoubleLE(monoMs(), 8);
          socket.write(record);
          setTimeout(tick, m.atMs + seq * period + (writer * period) / WRITERS - monoMs());
        };
        setTimeout(tick, m.atMs + (writer * period) / WRITERS - monoMs());
      });
    } else {
      const cpu = process.cpuUsage(cpuBefore);
      send({
        type: 'latencies',
        latencies: Float64Array.from(latencies),
        cpuMs: (cpu.user + cpu.system) / 1000,
      });
      setTimeout(() => process.exit(0), 50);
    }
  });
}

function next<T extends { type?: string }>(
  child: ChildProcess,
  test: (m: T) => boolean,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: T) => {
      if (!test(m)) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

const child = (args: string[]) =>
  fork(self, args, { execArgv: ['--import', 'tsx'], serialization: 'advanced' });

async function round_(workUs: number) {
  const relay = child(['--relay']);
  const { port } = await next<{ port: number; type?: string }>(relay, (m) => 'port' in m);
  const loads = Array.from({ length: LOAD_PROCESSES }, () =>
    child(['--load', String(port), String(CLIENTS / LOAD_PROCESSES), String(workUs)]),
  );
  await Promise.all(loads.map((l) => next<FromLoad>(l, (m) => m.type === 'ready')));
  const atMs = monoMs() + 500;
  const untilMs = atMs + (WARMUP_SECONDS + SECONDS) * 1000;
  loads.forEach((l, i) => {
    const writers = Array.from({ length: WRITERS }, (_, w) => w).filter(
      (w) => w % LOAD_PROCESSES === i,
    );
    l.send({ type: 'start', atMs, untilMs, writers } satisfies ToLoad);
  });
  await new Promise((r) => setTimeout(r, untilMs - monoMs() + 500));
  const reports = await Promise.all(
    loads.map((l) => {
      const p = next<FromLoad>(l, (m) => m.type === 'latencies');
      l.send({ type: 'report' } satisfies ToLoad);
      return p;
    }),
  );
  relay.kill();
  const all = Float64Array.from(
    reports.flatMap((r) => (r.type === 'latencies' ? [...r.latencies] : [])),
  ).sort();
  const at = (p: number) => round(all[Math.min(all.length - 1, Math.floor(p * all.length))] ?? NaN);
  return {
    deliveries: all.length,
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    max_ms: round(all[all.length - 1] ?? NaN),
    load_cpu_pct: reports.map((r) =>
      r.type === 'latencies' ? Math.round((r.cpuMs / (SECONDS * 1000)) * 100) : NaN,
    ),
  };
}

const [role, ...rest] = process.argv.slice(2);
if (role === '--relay') runRelay();
else if (role === '--load') runLoad(Number(rest[0]), Number(rest[1]), Number(rest[2]));
else {
  const bare = await round_(0);
  const working = await round_(RECEIVE_WORK_US);
  console.log(
    JSON.stringify({
      bench: 'loopback-fanout-floor',
      clients: CLIENTS,
      writers: WRITERS,
      load_processes: LOAD_PROCESSES,
      seconds: SECONDS,
      receivers_record_only: bare,
      receive_work_us: RECEIVE_WORK_US,
      receivers_working: working,
      target_p99_ms_of_yjs_fanout: 10,
      loadavg_1m: round(loadavg()[0] ?? NaN, 1),
      node: process.version,
    }),
  );
}
