/**
 * Benchmark: local generation through an engine demand run against raw node-llama-cpp, on the
 * generated `bench` model (E=512 L=8 F16, ~50 MB), one thread, greedy, in the same process.
 * - Demand: `text::input` → `llm::inference` ← `llm::model` (the model file is copied into the
 *   engine's data dir), on `createInferenceServices`. First token = `engine.demand()` call →
 *   first `node_stream` event; tokens/s = streamed tokens / (demand → `run_completed`). Each
 *   round tunes the generation's `seed` (unused when greedy) so it is a new input version and
 *   runs instead of being answered from the cache; the model stays loaded (cached upstream).
 * - Raw: `getLlama({gpu: false, build: 'never', maxThreads: 1})`, `LlamaCompletion` on one
 *   sequence of a context of the same size. First token = `generateCompletion` call → first
 *   `onToken`; tokens/s = tokens / whole call. The sequence is cleared between requests (the
 *   backend does the same, after answering).
 * Same prompt (not ending in a chain word, so greedy decoding writes the whole planted chain,
 * 31 tokens, then EOS), max tokens 32. One warm-up each, then 5 rounds, the order alternating
 * (raw first in even rounds, demand first in odd ones); figures are the median of the rounds
 * (the best is printed too), plus `demand_to_generate_ms`: the engine's own share of the first
 * token (demand call → the backend's `generate` call). Prints one JSON line.
 */
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine, createDefaultRegistry, gatewayFor } from '@patchbay/engine';
import type { EngineEvent, LlmBackend } from '@patchbay/engine';
import { createInferenceServices, ensureModel, plantedContinuation } from '@patchbay/inference';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';
import { nodeClock, percentile, round } from './node-clock';

const ROUNDS = 5;
const PROMPT = 'Tell me a story:';
const MAX_TOKENS = 32;
const CONTEXT_SIZE = 512;
const THREADS = 1;
const EXPECTED = plantedContinuation(PROMPT, MAX_TOKENS);

interface Figures {
  first_token_ms: number;
  /** Demand runs only: `engine.demand()` call → the backend's `generate` call. */
  to_generate_ms?: number;
  tokens_per_s: number;
  tokens: number;
}

const source = await ensureModel('bench');
const modelMb = (await stat(source)).size / 1e6;
const dataDir = await mkdtemp(join(tmpdir(), 'patchbay-bench-llm-demand-'));
await copyFile(source, join(dataDir, 'bench.gguf'));

// Raw node-llama-cpp.
const llama = await getLlama({ gpu: false, build: 'never', maxThreads: THREADS });
const rawModel = await llama.loadModel({ modelPath: source });
const rawContext = await rawModel.createContext({
  contextSize: CONTEXT_SIZE,
  sequences: 1,
  threads: THREADS,
});
const rawSequence = rawContext.getSequence();

async function rawRun(): Promise<Figures> {
  const completion = new LlamaCompletion({ contextSequence: rawSequence });
  let first = 0;
  let tokens = 0;
  const start = performance.now();
  const text = await completion.generateCompletion(PROMPT, {
    maxTokens: MAX_TOKENS,
    temperature: 0,
    onToken: (t) => {
      if (tokens === 0) first = performance.now();
      tokens += t.length;
    },
  });
  const total = performance.now() - start;
  completion.dispose({ disposeSequence: false });
  await rawSequence.clearHistory();
  if (text !== EXPECTED.text) throw new Error(`raw generation differs: ${text}`);
  return { first_token_ms: first - start, tokens_per_s: (tokens * 1000) / total, tokens };
}

// The engine. The backend is wrapped only to note when `generate` is called, which splits the
// first-token overhead into the engine's share (demand → generate) and the rest.
const services = createInferenceServices({ dataDir, threads: THREADS });
let generateCalledAt = 0;
const llmBackend: LlmBackend = {
  async load(request) {
    const r = await services.llmBackend.load(request);
    if (!r.ok) return r;
    const m = r.value;
    return {
      ok: true,
      value: {
        path: m.path,
        settings: m.settings,
        dispose: () => m.dispose(),
        generate: (g) => {
          generateCalledAt = performance.now();
          return m.generate(g);
        },
      },
    };
  },
};
const engine = new Engine({
  registry: createDefaultRegistry(),
  clock: nodeClock(),
  session: 'bench',
  services: { ...services, llmBackend },
});
const built = await engine.applyBatch([
  { op: 'add_node', id: 'prompt', kind: 'text::input', params: { text: PROMPT } },
  {
    op: 'add_node',
    id: 'model',
    kind: 'llm::model',
    params: { path: 'bench.gguf', context_size: CONTEXT_SIZE, threads: THREADS, sequences: 1 },
  },
  {
    op: 'add_node',
    id: 'gen',
    kind: 'llm::inference',
    params: { temperature: 0, max_tokens: MAX_TOKENS, seed: 0 },
  },
  { op: 'connect', from: { node: 'prompt', pin: 'out' }, to: { node: 'gen', pin: 'input' } },
  { op: 'connect', from: { node: 'model', pin: 'out' }, to: { node: 'gen', pin: 'model' } },
]);
if (!built.ok) throw new Error(JSON.stringify(built.error));

interface Watch {
  start: number;
  first: number;
  chunks: string[];
  end: (e: EngineEvent) => void;
}
const watches = new Map<string, Watch>();
engine.subscribe((e) => {
  if (!('run' in e)) return;
  const w = watches.get(e.run);
  if (!w) return;
  if (e.type === 'node_stream') {
    if (w.chunks.length === 0) w.first = performance.now();
    w.chunks.push(e.chunk);
  }
  if (e.type === 'run_completed' || e.type === 'run_failed' || e.type === 'run_cancelled') w.end(e);
});

async function demand(node: string): Promise<{ watch: Watch; ms: number }> {
  let end!: (e: EngineEvent) => void;
  const ended = new Promise<EngineEvent>((r) => (end = r));
  const watch: Watch = { start: performance.now(), first: 0, chunks: [], end };
  const r = await engine.demand(node);
  if (!r.ok) throw new Error(r.error.message);
  // Run events are delivered after `demand` answers (the run id comes first).
  watches.set(r.value.run, watch);
  const e = await ended;
  watches.delete(r.value.run);
  if (e.type !== 'run_completed') throw new Error(`${node}: ${e.type} ${JSON.stringify(e)}`);
  return { watch, ms: performance.now() - watch.start };
}

let seed = 0;
async function demandRun(): Promise<Figures> {
  await engine.tune('gen', { seed: ++seed });
  const { watch, ms } = await demand('gen');
  const text = watch.chunks.join('');
  if (text !== EXPECTED.text) throw new Error(`demand generation differs: ${text}`);
  const tokens = watch.chunks.length;
  return {
    first_token_ms: watch.first - watch.start,
    to_generate_ms: generateCalledAt - watch.start,
    tokens_per_s: (tokens * 1000) / ms,
    tokens,
  };
}

await demand('model'); // loads the model: the figures below are generation only
// Warm-up: the first evaluation of each context allocates its compute buffers.
await rawRun();
await demandRun();

const raw: Figures[] = [];
const ours: Figures[] = [];
for (let i = 0; i < ROUNDS; i++) {
  if (i % 2 === 0) {
    raw.push(await rawRun());
    ours.push(await demandRun());
  } else {
    ours.push(await demandRun());
    raw.push(await rawRun());
  }
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const summary = (runs: Figures[]) => ({
  median_tps: median(runs.map((r) => r.tokens_per_s)),
  median_first: median(runs.map((r) => r.first_token_ms)),
  best_tps: Math.max(...runs.map((r) => r.tokens_per_s)),
  best_first: Math.min(...runs.map((r) => r.first_token_ms)),
});
const r = summary(raw);
const d = summary(ours);
const tokens = ours[0]!.tokens;
if (raw.some((x) => x.tokens !== tokens) || ours.some((x) => x.tokens !== tokens)) {
  throw new Error('token counts differ between runs');
}

await engine.shutdown();
await gatewayFor(llmBackend).unload();
await (services.llmBackend as { dispose?: () => Promise<void> }).dispose?.();
await rawContext.dispose();
await rawModel.dispose();
await llama.dispose();
await rm(dataDir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    bench: 'llm-demand',
    stat: 'median',
    rounds: ROUNDS,
    tokens_per_s_raw: round(r.median_tps, 1),
    tokens_per_s_demand: round(d.median_tps, 1),
    ratio: round(d.median_tps / r.median_tps, 3),
    first_token_ms_raw: round(r.median_first, 2),
    first_token_ms_demand: round(d.median_first, 2),
    first_token_overhead_ms: round(d.median_first - r.median_first, 2),
    demand_to_generate_ms: round(median(ours.map((o) => o.to_generate_ms ?? NaN)), 2),
    model_mb: round(modelMb, 1),
    tokens,
    max_tokens: MAX_TOKENS,
    threads: THREADS,
    best: {
      tokens_per_s_raw: round(r.best_tps, 1),
      tokens_per_s_demand: round(d.best_tps, 1),
      ratio: round(d.best_tps / r.best_tps, 3),
      first_token_ms_raw: round(r.best_first, 2),
      first_token_ms_demand: round(d.best_first, 2),
      first_token_overhead_ms: round(d.best_first - r.best_first, 2),
    },
    load1: round(loadavg()[0] ?? NaN, 2),
  }),
);
