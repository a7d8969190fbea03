// Benchmark: local LLM generation on the generated `bench` model (E=512, L=8, F16, ~50 MB),
// raw node-llama-cpp (LlamaCompletion on one sequence) against NodeLlamaBackend (sequence pool,
// StopSignal, chunk callback) in the same process, greedy, one thread. A prompt that does not
// end in a chain word generates the whole planted chain (31 tokens) and then EOS.
// Rounds interleave the two so a burst of load elsewhere hits one round, not one variant.
// Figures: best of 3 rounds; time to first token and tokens/s over the whole request; load
// times of the backend (the first includes starting the llama.cpp runtime, ~2 s here).
// Prints one JSON line.
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createStop, ensureModel, NodeLlamaBackend } from '@patchbay/inference';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';

const ROUNDS = 3;
const PROMPT = 'Tell me a story:';
const MAX_TOKENS = 64;
const SETTINGS = { contextSize: 512, threads: 1, sequences: 1 };

interface Figures {
  ttft_ms: number;
  tokens_per_s: number;
  tokens: number;
}

const path = await ensureModel('bench');
const fileMb = (await stat(path)).size / 1e6;

const llama = await getLlama({ gpu: false, build: 'never', maxThreads: SETTINGS.threads });
const rawModel = await llama.loadModel({ modelPath: path });
const rawContext = await rawModel.createContext({
  contextSize: SETTINGS.contextSize,
  sequences: 1,
  threads: SETTINGS.threads,
});
const rawSequence = rawContext.getSequence();

async function rawRun(): Promise<Figures> {
  const completion = new LlamaCompletion({ contextSequence: rawSequence });
  let first = 0;
  let tokens = 0;
  const start = performance.now();
  await completion.generateCompletion(PROMPT, {
    maxTokens: MAX_TOKENS,
    onToken: (t) => {
      if (tokens === 0) first = performance.now();
      tokens += t.length;
    },
  });
  const total = performance.now() - start;
  completion.dispose({ disposeSequence: false });
  await rawSequence.clearHistory();
  return { ttft_ms: first - start, tokens_per_s: (tokens * 1000) / total, tokens };
}

const backend = new NodeLlamaBackend({ threads: SETTINGS.threads });
async function timedLoad() {
  const start = performance.now();
  const loaded = await backend.load({ path, settings: SETTINGS });
  if (!loaded.ok) throw new Error(loaded.error.message);
  return { model: loaded.value, ms: performance.now() - start };
}
// The first load also starts the llama.cpp runtime (once per backend).
const first = await timedLoad();
await first.model.dispose();
const { model, ms: loadMs } = await timedLoad();

async function backendRun(): Promise<Figures> {
  let first = 0;
  let chunks = 0;
  const start = performance.now();
  const r = await model.generate({
    prompt: PROMPT,
    maxTokens: MAX_TOKENS,
    temperature: 0,
    signal: createStop().signal,
    onChunk: () => {
      if (chunks++ === 0) first = performance.now();
    },
  });
  const total = performance.now() - start;
  if (!r.ok) throw new Error(r.error.message);
  return {
    ttft_ms: first - start,
    tokens_per_s: (r.value.tokens * 1000) / total,
    tokens: r.value.tokens,
  };
}

// Warm-up: the first evaluation allocates compute buffers.
await rawRun();
await backendRun();

const best = (runs: Figures[]): Figures => ({
  ttft_ms: Math.min(...runs.map((r) => r.ttft_ms)),
  tokens_per_s: Math.max(...runs.map((r) => r.tokens_per_s)),
  tokens: runs[0]!.tokens,
});
const raw: Figures[] = [];
const ours: Figures[] = [];
for (let i = 0; i < ROUNDS; i++) {
  raw.push(await rawRun());
  ours.push(await backendRun());
}
const r = best(raw);
const b = best(ours);

await model.dispose();
await rawContext.dispose();
await rawModel.dispose();

const round = (n: number, digits = 1) => Number(n.toFixed(digits));
process.stdout.write(
  JSON.stringify({
    bench: 'llm-backend',
    model: 'planted bench E512 L8 H8 F1376 F16',
    file_mb: round(fileMb),
    threads: SETTINGS.threads,
    tokens: b.tokens,
    rounds: ROUNDS,
    backend_first_load_ms: round(first.ms),
    backend_load_ms: round(loadMs),
    raw_ttft_ms: round(r.ttft_ms, 2),
    raw_tokens_per_s: round(r.tokens_per_s),
    backend_ttft_ms: round(b.ttft_ms, 2),
    backend_tokens_per_s: round(b.tokens_per_s),
    backend_overhead_pct: round((r.tokens_per_s / b.tokens_per_s - 1) * 100),
  }) + '\n',
);
