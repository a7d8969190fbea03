/**
 * Benchmark 2 — control-loop responsiveness (behaviour E2).
 * 10 nodes whose creation takes 2 s each are added at once while 1,000 tune/connect/disconnect
 * messages for other, live nodes are sent (five realtime sine → gain → sink chains keep the
 * engine busy). Prints one JSON line: handling latency (enqueue → handled on the loop) and
 * round-trip latency (request → resolved promise), p50/p99/max in ms.
 */
import { z } from 'zod';
import { Engine, createDefaultRegistry, defineNode } from '@patchbay/engine';
import { nodeClock, percentile, round } from './node-clock';

const SLOW_CREATE_MS = 2_000;
const SLOW_NODES = 10;
const MESSAGES = 1_000;

const clock = nodeClock();
const registry = createDefaultRegistry().register(
  defineNode({
    kind: 'bench::slow_create',
    description: 'a node whose creation takes 2 s (e.g. loading a model)',
    params: z.object({}),
    pins: () => ({ inputs: [{ name: 'in', type: 'raw_audio' }], outputs: [] }),
    create: async ({ clock: c }) => {
      await new Promise<void>((resolve) => c.setTimer(resolve, SLOW_CREATE_MS));
      return { run: async (ctx) => void (await ctx.signal.promise) };
    },
  }),
);
const engine = new Engine({ registry, clock, session: 'bench' });

// Five live chains, started as one batch.
const ops: unknown[] = [];
for (let i = 0; i < 5; i++) {
  ops.push(
    {
      op: 'add_node',
      id: `sine${i}`,
      kind: 'audio::sine',
      params: { frequency_hz: 220 * (i + 1) },
    },
    { op: 'add_node', id: `gain${i}`, kind: 'audio::gain', params: {} },
    { op: 'add_node', id: `sink${i}`, kind: 'core::sink', params: {} },
    { op: 'add_node', id: `spare${i}`, kind: 'core::sink', params: {} },
    { op: 'connect', from: { node: `sine${i}` }, to: { node: `gain${i}` } },
    { op: 'connect', from: { node: `gain${i}` }, to: { node: `sink${i}` } },
  );
}
const built = await engine.applyBatch(ops);
if (!built.ok) throw new Error(JSON.stringify(built.error));
await new Promise((r) => setTimeout(r, 200));

engine.recordLatency = true;
const t0 = performance.now();
const adds = Array.from({ length: SLOW_NODES }, (_, i) =>
  engine.addNode(`slow${i}`, 'bench::slow_create'),
);
const roundTrips: number[] = [];
let connected = false;
for (let m = 0; m < MESSAGES; m++) {
  const i = m % 5;
  const sent = performance.now();
  let r;
  if (m % 4 === 3) {
    r = connected
      ? await engine.disconnect({ node: `gain${i}`, pin: 'out' }, { node: `spare${i}`, pin: 'in' })
      : await engine.connect({ node: `gain${i}` }, { node: `spare${i}` });
    if (i === 4) connected = !connected;
  } else {
    r = await engine.tune(`gain${i}`, { gain: (m % 100) / 100 });
  }
  roundTrips.push(performance.now() - sent);
  if (!r.ok) throw new Error(`message ${m} failed: ${r.error.message}`);
  // Interleave with timers and I/O as a server would: yield every 10 messages.
  if (m % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
}
const messagesDoneMs = performance.now() - t0;
await Promise.all(adds);
const stillCreating = engine.snapshot().nodes.filter((n) => n.state.status === 'creating').length;
const handling = [...engine.latencies].sort((a, b) => a - b);
roundTrips.sort((a, b) => a - b);
await new Promise((r) => setTimeout(r, SLOW_CREATE_MS + 200));
const slowRunning = engine
  .snapshot()
  .nodes.filter((n) => n.id.startsWith('slow') && n.state.status === 'running').length;
await engine.shutdown();

console.log(
  JSON.stringify({
    bench: 'control-loop',
    messages: MESSAGES,
    slow_creations: SLOW_NODES,
    slow_create_ms: SLOW_CREATE_MS,
    creating_while_messages_ran: stillCreating,
    messages_done_ms: round(messagesDoneMs, 1),
    handling_p50_ms: round(percentile(handling, 50)),
    handling_p99_ms: round(percentile(handling, 99)),
    handling_max_ms: round(handling.at(-1) ?? Number.NaN),
    round_trip_p50_ms: round(percentile(roundTrips, 50)),
    round_trip_p99_ms: round(percentile(roundTrips, 99)),
    round_trip_max_ms: round(roundTrips.at(-1) ?? Number.NaN),
    slow_nodes_running_after: slowRunning,
    target_p99_ms: 2,
    node: process.version,
  }),
);
