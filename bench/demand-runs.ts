/**
 * Benchmark: demand runs of task nodes (behaviours X5, X6).
 * 1. A chain of 50 `text::template` nodes: a fully cached re-demand (every node answered from
 *    the input-version cache) and a recompute after tuning the first node (every node runs),
 *    demand → run_completed, p50/p99 in ms over 200 runs each.
 * 2. `llm::inference` on the generated tiny model through the engine (real node-llama-cpp):
 *    time to the first `node_stream` chunk and tokens/s of a generation that is not cached,
 *    and cancel latency (cancel request → run_cancelled) mid-generation.
 * Prints one JSON line.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine, createDefaultRegistry, gatewayFor } from '@patchbay/engine';
import type { EngineEvent } from '@patchbay/engine';
import { createInferenceServices, ensureModel } from '@patchbay/inference';
import { nodeClock, percentile, round } from './node-clock';

const CHAIN = 50;
const RUNS = 200;
const LLM_ROUNDS = 5;

const clock = nodeClock();
const dataDir = await mkdtemp(join(tmpdir(), 'patchbay-bench-demand-'));
await copyFile(await ensureModel('tiny'), join(dataDir, 'tiny.gguf'));
const services = createInferenceServices({ dataDir });
const engine = new Engine({ registry: createDefaultRegistry(), clock, session: 'bench', services });

const ends = new Map<string, (e: EngineEvent) => void>();
const firstChunk = new Map<string, () => void>();
const chunks = new Map<string, number>();
engine.subscribe((e) => {
  if (!('run' in e)) return;
  if (e.type === 'node_stream') {
    chunks.set(e.run, (chunks.get(e.run) ?? 0) + 1);
    firstChunk.get(e.run)?.();
  }
  if (e.type === 'run_completed' || e.type === 'run_failed' || e.type === 'run_cancelled')
    ends.get(e.run)?.(e);
});

async function demand(node: string, onFirstChunk?: () => void) {
  const started = performance.now();
  const r = await engine.demand(node);
  if (!r.ok) throw new Error(r.error.message);
  const run = r.value.run;
  if (onFirstChunk) firstChunk.set(run, onFirstChunk);
  const end = await new Promise<EngineEvent>((resolve) => ends.set(run, resolve));
  ends.delete(run);
  firstChunk.delete(run);
  if (end.type === 'run_failed') throw new Error(`${end.node}: ${end.reason}`);
  return { run, end, ms: performance.now() - started };
}

// 1. The chain.
const ops: unknown[] = [{ op: 'add_node', id: 't0', kind: 'text::input', params: { text: 'x' } }];
for (let i = 1; i <= CHAIN; i++) {
  ops.push(
    { op: 'add_node', id: `t${i}`, kind: 'text::template', params: { template: '{{v}}.' } },
    { op: 'connect', from: { node: `t${i - 1}`, pin: 'out' }, to: { node: `t${i}`, pin: 'v' } },
  );
}
const built = await engine.applyBatch(ops);
if (!built.ok) throw new Error(JSON.stringify(built.error));
await demand(`t${CHAIN}`);

const cached: number[] = [];
for (let i = 0; i < RUNS; i++) cached.push((await demand(`t${CHAIN}`)).ms);
const recomputed: number[] = [];
for (let i = 0; i < RUNS; i++) {
  await engine.tune('t0', { text: `x${i}` });
  recomputed.push((await demand(`t${CHAIN}`)).ms);
}
cached.sort((a, b) => a - b);
recomputed.sort((a, b) => a - b);

// 2. The LLM through the engine.
const llmOps = [
  {
    op: 'add_node',
    id: 'model',
    kind: 'llm::model',
    params: { path: 'tiny.gguf', context_size: 512 },
  },
  {
    op: 'add_node',
    id: 'gen',
    kind: 'llm::inference',
    params: { prompt: 'Tell me a story:', max_tokens: 64 },
  },
  { op: 'connect', from: { node: 'model', pin: 'out' }, to: { node: 'gen', pin: 'model' } },
];
const llmBuilt = await engine.applyBatch(llmOps);
if (!llmBuilt.ok) throw new Error(JSON.stringify(llmBuilt.error));
await demand('model'); // load once: the figures below are generation, not loading

let ttftBest = Infinity;
let tpsBest = 0;
let tokens = 0;
for (let i = 0; i < LLM_ROUNDS; i++) {
  await engine.tune('gen', { seed: i }); // a new input version: the generation runs again
  let first = 0;
  const started = performance.now();
  const { run, ms } = await demand('gen', () => {
    if (first === 0) first = performance.now() - started;
  });
  tokens = chunks.get(run) ?? 0;
  ttftBest = Math.min(ttftBest, first);
  tpsBest = Math.max(tpsBest, tokens / (ms / 1000));
}

const cancelMs: number[] = [];
for (let i = 0; i < LLM_ROUNDS; i++) {
  await engine.tune('gen', { seed: 100 + i });
  const r = await engine.demand('gen');
  if (!r.ok) throw new Error(r.error.message);
  const run = r.value.run;
  const ended = new Promise<EngineEvent>((resolve) => ends.set(run, resolve));
  await new Promise<void>((resolve) => firstChunk.set(run, resolve));
  const t0 = performance.now();
  await engine.cancel(run);
  const end = await ended;
  if (end.type === 'run_cancelled') cancelMs.push(performance.now() - t0);
}
cancelMs.sort((a, b) => a - b);

await engine.shutdown();
// A cancelled run is reported at once; its generation may still be winding down. Unloading
// through the gateway waits for it, and only then is the llama.cpp runtime freed.
await gatewayFor(services.llmBackend).unload();
await (services.llmBackend as { dispose?: () => Promise<void> }).dispose?.();
await rm(dataDir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    bench: 'demand-runs',
    chain_nodes: CHAIN,
    cached_redemand_ms: { p50: round(percentile(cached, 50)), p99: round(percentile(cached, 99)) },
    recompute_ms: {
      p50: round(percentile(recomputed, 50)),
      p99: round(percentile(recomputed, 99)),
    },
    llm_tiny: {
      ttft_ms: round(ttftBest, 2),
      tokens_per_s: round(tpsBest, 1),
      tokens,
      cancel_ms: { p50: round(percentile(cancelMs, 50), 2), max: round(cancelMs.at(-1) ?? NaN, 2) },
      cancelled_runs: cancelMs.length,
    },
  }),
);
