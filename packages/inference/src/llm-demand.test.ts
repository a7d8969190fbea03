import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, createDefaultRegistry, createTimerClock, gatewayFor } from '@patchbay/engine';
import type { EngineEvent, LlmBackend, RunEvent } from '@patchbay/engine';
import { ensureModel, plantedContinuation } from './fixtures/planted-model';
import { createInferenceServices } from './inference-services';
import { NodeLlamaBackend } from './node-llama-backend';

/**
 * End to end through the engine's demand runs (X4, X5) on the real node-llama-cpp backend and
 * the generated planted-bigram model, whose greedy output is known exactly.
 */
const clock = createTimerClock({
  now: () => performance.now(),
  setTimeout: (cb, ms) => setTimeout(cb, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  setImmediate: (cb) => setImmediate(cb),
});

const real = new NodeLlamaBackend();
/** What the engine's gateway asked of the backend: loads, disposals, generation results. */
const log: string[] = [];
const recording: LlmBackend = {
  async load(request) {
    log.push(`load ${request.path.split('/').pop()} ctx=${request.settings.contextSize}`);
    const r = await real.load(request);
    if (!r.ok) return r;
    const model = r.value;
    const name = request.path.split('/').pop();
    return {
      ok: true,
      value: {
        path: model.path,
        settings: model.settings,
        generate: async (g) => {
          const out = await model.generate(g);
          if (out.ok) log.push(`generated ${out.value.stopReason} ${out.value.tokens}`);
          return out;
        },
        dispose: async () => {
          log.push(`dispose ${name}`);
          await model.dispose();
        },
      },
    };
  },
};

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'patchbay-demand-'));
  const tiny = await ensureModel('tiny');
  await copyFile(tiny, join(dataDir, 'a.gguf'));
  await copyFile(tiny, join(dataDir, 'b.gguf'));
});

afterAll(async () => {
  await real.dispose?.();
  await rm(dataDir, { recursive: true, force: true });
});

async function session() {
  const engine = new Engine({
    registry: createDefaultRegistry(),
    clock,
    session: 'e2e',
    services: { ...createInferenceServices({ dataDir, llmBackend: recording }) },
  });
  const events: EngineEvent[] = [];
  engine.subscribe((e) => events.push(e));
  const ops = [
    {
      op: 'add_node',
      id: 'model',
      kind: 'llm::model',
      params: { path: 'a.gguf', context_size: 512, sequences: 2 },
    },
    { op: 'add_node', id: 'p1', kind: 'text::input', params: { text: 'once upon a' } },
    { op: 'add_node', id: 'p2', kind: 'text::input', params: { text: 'in his small' } },
    { op: 'add_node', id: 'gen', kind: 'llm::inference', params: { max_tokens: 64 } },
    { op: 'add_node', id: 'gen2', kind: 'llm::inference', params: { max_tokens: 64 } },
    { op: 'add_node', id: 'unload', kind: 'llm::unload' },
    { op: 'connect', from: { node: 'model', pin: 'out' }, to: { node: 'gen', pin: 'model' } },
    { op: 'connect', from: { node: 'model', pin: 'out' }, to: { node: 'gen2', pin: 'model' } },
    { op: 'connect', from: { node: 'p1', pin: 'out' }, to: { node: 'gen', pin: 'input' } },
    { op: 'connect', from: { node: 'p2', pin: 'out' }, to: { node: 'gen2', pin: 'input' } },
  ];
  const built = await engine.applyBatch(ops);
  if (!built.ok) throw new Error(JSON.stringify(built.error));
  const runEvents = (run: string) =>
    events.filter((e): e is RunEvent => 'run' in e && e.run === run);
  const end = (run: string) =>
    new Promise<RunEvent>((resolve) => {
      const check = () => {
        const last = runEvents(run).find((e) =>
          ['run_completed', 'run_failed', 'run_cancelled'].includes(e.type),
        );
        if (last) {
          off();
          resolve(last);
        }
      };
      const off = engine.subscribe(() => queueMicrotask(check));
      check();
    });
  async function demand(node: string) {
    const r = await engine.demand(node);
    if (!r.ok) throw new Error(r.error.message);
    return r.value.run;
  }
  const chunks = (run: string) =>
    runEvents(run).flatMap((e) => (e.type === 'node_stream' ? [e.chunk] : []));
  return { engine, events, runEvents, end, demand, chunks };
}

describe('demand runs on node-llama-cpp (planted model)', () => {
  it('[X5] streams the exact greedy continuation; the chunks concatenate to the output', async () => {
    log.length = 0;
    const s = await session();
    const run = await s.demand('gen');
    const end = await s.end(run);
    const expected = plantedContinuation('once upon a', 64).text;
    expect(end).toEqual({ type: 'run_completed', run, output: expected });
    expect(s.chunks(run).length).toBeGreaterThan(1);
    expect(s.chunks(run).join('')).toBe(expected);
    const progress = s
      .runEvents(run)
      .flatMap((e) => (e.type === 'node_run_progress' ? [e.fraction] : []));
    expect(progress.at(-1)).toBe(1);
    await s.engine.shutdown();
  });

  it('[X5] cancel at the first token stops the generation within one token', async () => {
    log.length = 0;
    const s = await session();
    let run = '';
    let cancelled = false;
    s.engine.subscribe((e) => {
      if (e.type === 'node_stream' && e.run === run && !cancelled) {
        cancelled = true;
        void s.engine.cancel(run);
      }
    });
    run = await s.demand('gen');
    const end = await s.end(run);
    expect(end).toEqual({ type: 'run_cancelled', run });
    expect(s.runEvents(run).map((e) => e.type)).toContain('node_run_cancelled');
    // The backend's generation ended as cancelled, at most one token after the first.
    await new Promise((r) => setTimeout(r, 50));
    const generated = log.find((l) => l.startsWith('generated'));
    expect(generated).toMatch(/^generated cancelled [12]$/);
    await s.engine.shutdown();
  });

  it('[X4] a changed model path switches models; unload frees; a demand after it reloads', async () => {
    const s = await session();
    // Start from nothing loaded.
    await s.end(await s.demand('unload'));
    log.length = 0;
    await s.end(await s.demand('gen'));
    expect((await s.engine.tune('model', { path: 'b.gguf' })).ok).toBe(true);
    const switched = await s.end(await s.demand('gen'));
    expect(switched).toMatchObject({ output: plantedContinuation('once upon a', 64).text });
    const unloaded = await s.end(await s.demand('unload'));
    expect(unloaded).toMatchObject({ type: 'run_completed', output: { unloaded: true } });
    expect((await s.engine.tune('gen', { max_tokens: 3 })).ok).toBe(true);
    const reloaded = await s.end(await s.demand('gen'));
    expect(reloaded).toMatchObject({ output: plantedContinuation('once upon a', 3).text });
    expect(log.filter((l) => !l.startsWith('generated'))).toEqual([
      'load a.gguf ctx=512',
      'dispose a.gguf',
      'load b.gguf ctx=512',
      'dispose b.gguf',
      'load b.gguf ctx=512',
    ]);
    await s.engine.shutdown();
  });

  it('[X4] two concurrent demands share one loaded model', async () => {
    const s = await session();
    await s.end(await s.demand('unload'));
    log.length = 0;
    const [r1, r2] = [await s.demand('gen'), await s.demand('gen2')];
    const [e1, e2] = await Promise.all([s.end(r1), s.end(r2)]);
    expect(e1).toMatchObject({ output: plantedContinuation('once upon a', 64).text });
    expect(e2).toMatchObject({ output: plantedContinuation('in his small', 64).text });
    expect(log.filter((l) => l.startsWith('load'))).toEqual(['load a.gguf ctx=512']);
    await s.engine.shutdown();
  });

  it('[X3] json_schema constrains the generation; the parsed value feeds a validator', async () => {
    const s = await session();
    const schema = { enum: ['red', 'green', 'blue'] };
    const ops = [
      {
        op: 'add_node',
        id: 'pick',
        kind: 'llm::inference',
        params: { prompt: 'colour?', max_tokens: 16, json_schema: schema },
      },
      { op: 'add_node', id: 'check', kind: 'json::validator', params: { schema } },
      { op: 'connect', from: { node: 'model', pin: 'out' }, to: { node: 'pick', pin: 'model' } },
      { op: 'connect', from: { node: 'pick', pin: 'json' }, to: { node: 'check', pin: 'in' } },
    ];
    const built = await s.engine.applyBatch(ops);
    expect(built.ok).toBe(true);
    const run = await s.demand('check');
    const end = await s.end(run);
    expect(end).toMatchObject({ type: 'run_completed' });
    const output = end.type === 'run_completed' ? end.output : undefined;
    expect(schema.enum).toContain(output);
    const pick = s.runEvents(run).find((e) => e.type === 'node_run_completed' && e.node === 'pick');
    expect(pick).toMatchObject({ output: { out: JSON.stringify(output), json: output } });
    await s.engine.shutdown();
  });

  it('[X5] after a cancel, engine shutdown leaves the backend safe to dispose at once', async () => {
    // Its own runtime: disposing it must not touch the other tests' backend.
    const own = new NodeLlamaBackend();
    const engine = new Engine({
      registry: createDefaultRegistry(),
      clock,
      services: { ...createInferenceServices({ dataDir, llmBackend: own }) },
    });
    const built = await engine.applyBatch([
      {
        op: 'add_node',
        id: 'model',
        kind: 'llm::model',
        params: { path: 'a.gguf', context_size: 512 },
      },
      {
        op: 'add_node',
        id: 'gen',
        kind: 'llm::inference',
        params: { prompt: 'Tell me a story:', max_tokens: 64 },
      },
      { op: 'connect', from: { node: 'model', pin: 'out' }, to: { node: 'gen', pin: 'model' } },
    ]);
    expect(built.ok).toBe(true);
    let run = '';
    const cancelled = new Promise<void>((resolve) =>
      engine.subscribe((e) => {
        if (e.type === 'node_stream' && e.run === run) void engine.cancel(run);
        if (e.type === 'run_cancelled' && e.run === run) resolve();
      }),
    );
    const demanded = await engine.demand('gen');
    run = demanded.ok ? demanded.value.run : '';
    await cancelled;
    // The host's shutdown order: engine first (its cancelled generation settles), then the backend.
    await engine.shutdown();
    await gatewayFor(own).unload();
    await own.dispose();
    // Still alive: a crash in the llama.cpp runtime would have ended the test process.
    await new Promise((r) => setTimeout(r, 100));
    expect(gatewayFor(own).current).toBeUndefined();
  });
});
