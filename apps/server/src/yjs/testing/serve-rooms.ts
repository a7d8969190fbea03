/**
 * The test room server as its own process (for the SIGKILL durability test and the fan-out
 * benchmark): `node --import tsx serve-rooms.ts --data-dir DIR --session ID [--session ID …]`.
 * Prints one JSON line `{"port": N}` once listening. With an IPC channel it answers the
 * message 'stats' with `{rss, heapUsed, cpuMs, rooms, connections, loop, storage}` (after a gc
 * when the process runs with --expose-gc): `loop` is the event-loop delay and `storage` the
 * storage call durations by op (ms percentiles; `room_fanout` is the room's own time from an
 * update applied to it being stored and written to every socket), both since the previous 'stats';
 * `schedWaitMs` is how long the main thread has waited for a CPU while runnable (Linux
 * schedstat; null elsewhere).
 */
import { readFileSync } from 'node:fs';
import { PerformanceObserver, createHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { RecordableHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { STORAGE_LATENCY_METRIC } from '../../storage/sqlite-storage';
import { YjsMetric } from '../room';
import { startTestServer } from './test-server';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    session: { type: 'string', multiple: true },
  },
});
const dataDir = values['data-dir'];
if (dataDir === undefined) {
  process.stderr.write('serve-rooms: --data-dir is required\n');
  process.exit(2);
}

// Histograms hold integers: microseconds.
const storageUs = new Map<string, RecordableHistogram>();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

const server = await startTestServer({
  dataDir,
  sessions: values.session ?? [],
  // Rooms stay loaded between a test's clients, as in a studio with people coming and going.
  unloadDelayMs: 60_000,
  onObserve(name, labels, value) {
    if (name !== STORAGE_LATENCY_METRIC && name !== YjsMetric.fanout) return;
    const op = name === YjsMetric.fanout ? 'room_fanout' : (labels.op ?? '?');
    let h = storageUs.get(op);
    if (h === undefined) storageUs.set(op, (h = createHistogram()));
    h.record(Math.max(1, Math.round(value * 1000)));
  },
});
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);

/** The main thread's [CPU ms, ms runnable but waiting for a CPU] since it started (Linux). */
function schedstat(): [number, number] | null {
  try {
    const fields = readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/);
    return [Number(fields[0]) / 1e6, Number(fields[1]) / 1e6];
  } catch {
    return null;
  }
}
const schedWaitMs = () => schedstat()?.[1] ?? null;

/**
 * Loop stalls longer than STALL_MS since the previous 'stats', each with how much of it the
 * main thread spent on a CPU and how much waiting for one (so a stall says whether the server
 * was computing or starved), and the GC pauses longer than STALL_MS.
 */
const STALL_MS = 100;
const TICK_MS = 50;
let stalls: { atMs: number; ms: number; cpuMs: number; waitMs: number }[] = [];
let gcPauses: { atMs: number; ms: number; kind: number }[] = [];
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
let lastTick = { at: monoMs(), sched: schedstat() };
setInterval(() => {
  const now = { at: monoMs(), sched: schedstat() };
  const ms = now.at - lastTick.at - TICK_MS;
  if (ms > STALL_MS && stalls.length < 100 && now.sched && lastTick.sched) {
    stalls.push({
      atMs: lastTick.at,
      ms,
      cpuMs: now.sched[0] - lastTick.sched[0],
      waitMs: now.sched[1] - lastTick.sched[1],
    });
  }
  lastTick = now;
}, TICK_MS).unref();
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.duration > STALL_MS && gcPauses.length < 100) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? -1;
      gcPauses.push({ atMs: monoMs() - e.duration, ms: e.duration, kind });
    }
  }
}).observe({ entryTypes: ['gc'] });

const ms = (h: { percentile(p: number): number; max: number }, scale: number) => ({
  p50: h.percentile(50) / scale,
  p99: h.percentile(99) / scale,
  max: h.max / scale,
});

process.on('message', (message) => {
  if (message !== 'stats') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const storage = Object.fromEntries(
    [...storageUs].map(([op, h]) => [op, { count: h.count, ...ms(h, 1000) }]),
  );
  const loop = ms(loopDelay, 1e6);
  for (const h of storageUs.values()) h.reset();
  loopDelay.reset();
  const seenStalls = stalls;
  const seenGc = gcPauses;
  stalls = [];
  gcPauses = [];
  process.send?.({
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    cpuMs: (cpu.user + cpu.system) / 1000,
    cpuSystemMs: cpu.system / 1000,
    schedWaitMs: schedWaitMs(),
    ...server.rooms.stats(),
    loop,
    storage,
    stalls: seenStalls,
    gcPauses: seenGc,
  });
  // The gc above stalls the loop; the next tick must not count it.
  lastTick = { at: monoMs(), sched: schedstat() };
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
