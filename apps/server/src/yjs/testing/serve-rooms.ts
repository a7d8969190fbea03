/**
 * The test room server as its own process (for the SIGKILL durability test and the fan-out
 * benchmark): `node --import tsx serve-rooms.ts --data-dir DIR --session ID [--session ID …]`.
 * Prints one JSON line `{"port": N}` once listening. With an IPC channel it answers the
 * message 'stats' with `{rss, heapUsed, cpuMs, rooms, connections, loop, storage}` (after a gc
 * when the process runs with --expose-gc): `loop` is the event-loop delay and `storage` the
 * storage call durations by op (ms percentiles), both since the previous 'stats';
 * `schedWaitMs` is how long the main thread has waited for a CPU while runnable (Linux
 * schedstat; null elsewhere).
 */
import { readFileSync } from 'node:fs';
import { createHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { RecordableHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { STORAGE_LATENCY_METRIC } from '../../storage/sqlite-storage';
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
    if (name !== STORAGE_LATENCY_METRIC) return;
    const op = labels.op ?? '?';
    let h = storageUs.get(op);
    if (h === undefined) storageUs.set(op, (h = createHistogram()));
    h.record(Math.max(1, Math.round(value * 1000)));
  },
});
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);

/** Milliseconds the main thread has spent runnable but waiting for a CPU, since it started. */
function schedWaitMs(): number | null {
  try {
    const fields = readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/);
    return Number(fields[1]) / 1e6;
  } catch {
    return null;
  }
}

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
  process.send?.({
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    cpuMs: (cpu.user + cpu.system) / 1000,
    schedWaitMs: schedWaitMs(),
    ...server.rooms.stats(),
    loop,
    storage,
  });
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
