import { describe, expect, it } from 'vitest';
import { ManualClock } from '../testing/manual-clock';
import { LlmGateway } from './llm-gateway';
import type { LlmModelSettings } from './task-services';
import { FakeLlmBackend } from './testing/fake-llm';
import { add, link, taskEngine, until, value } from './testing/task-harness';

const S: LlmModelSettings = { contextSize: 512, threads: 1, sequences: 1 };

function setup() {
  const clock = new ManualClock();
  const backend = new FakeLlmBackend(clock);
  const gateway = new LlmGateway(backend);
  const loads = () => backend.log.filter((l) => !l.startsWith('generate'));
  return { clock, backend, gateway, loads };
}

async function leased(g: LlmGateway, clock: ManualClock, path: string, settings = S) {
  const p = g.acquire({ path, settings });
  await clock.advance(100);
  return value(await p);
}

describe('X4 inference gateway', () => {
  it('[X4] reuses the loaded model when path and settings are equal', async () => {
    const { clock, gateway, loads } = setup();
    const a = await leased(gateway, clock, '/m/a.gguf');
    a.release();
    const b = await leased(gateway, clock, '/m/a.gguf');
    expect(b.model).toBe(a.model);
    expect(loads()).toEqual(['load /m/a.gguf ctx=512 threads=1 seq=1']);
  });

  it('[X4] switches when the path or a setting differs: the old model is disposed first', async () => {
    const { clock, gateway, loads } = setup();
    (await leased(gateway, clock, '/m/a.gguf')).release();
    (await leased(gateway, clock, '/m/b.gguf')).release();
    (await leased(gateway, clock, '/m/b.gguf', { ...S, contextSize: 1024 })).release();
    (await leased(gateway, clock, '/m/b.gguf', { ...S, contextSize: 1024, threads: 2 })).release();
    expect(loads()).toEqual([
      'load /m/a.gguf ctx=512 threads=1 seq=1',
      'dispose /m/a.gguf',
      'load /m/b.gguf ctx=512 threads=1 seq=1',
      'dispose /m/b.gguf',
      // The context size asked for is the one loaded (never a smaller reused context).
      'load /m/b.gguf ctx=1024 threads=1 seq=1',
      'dispose /m/b.gguf',
      'load /m/b.gguf ctx=1024 threads=2 seq=1',
    ]);
    expect(gateway.current).toEqual({
      path: '/m/b.gguf',
      settings: { contextSize: 1024, threads: 2, sequences: 1 },
      loaded: true,
    });
  });

  it('[X4] a switch waits for generations in flight on the old model', async () => {
    const { clock, gateway, loads } = setup();
    const a = await leased(gateway, clock, '/m/a.gguf');
    const next = gateway.acquire({ path: '/m/b.gguf', settings: S });
    await clock.advance(500);
    expect(loads()).toEqual(['load /m/a.gguf ctx=512 threads=1 seq=1']);
    a.release();
    await clock.advance(100);
    const b = value(await next);
    expect(b.model.path).toBe('/m/b.gguf');
    expect(loads()).toEqual([
      'load /m/a.gguf ctx=512 threads=1 seq=1',
      'dispose /m/a.gguf',
      'load /m/b.gguf ctx=512 threads=1 seq=1',
    ]);
  });

  it('[X4] unload frees the model; the next request loads it again', async () => {
    const { clock, gateway, loads } = setup();
    (await leased(gateway, clock, '/m/a.gguf')).release();
    expect(await gateway.unload()).toBe(true);
    expect(gateway.current).toBeUndefined();
    expect(await gateway.unload()).toBe(false);
    (await leased(gateway, clock, '/m/a.gguf')).release();
    expect(loads()).toEqual([
      'load /m/a.gguf ctx=512 threads=1 seq=1',
      'dispose /m/a.gguf',
      'load /m/a.gguf ctx=512 threads=1 seq=1',
    ]);
  });

  it('[X4] concurrent requests share one load, and each sees its progress', async () => {
    const { clock, gateway, loads } = setup();
    const seen1: number[] = [];
    const seen2: number[] = [];
    const p1 = gateway.acquire({
      path: '/m/a.gguf',
      settings: S,
      onProgress: (f) => seen1.push(f),
    });
    const p2 = gateway.acquire({
      path: '/m/a.gguf',
      settings: S,
      onProgress: (f) => seen2.push(f),
    });
    await clock.advance(100);
    const [l1, l2] = [value(await p1), value(await p2)];
    expect(l1.model).toBe(l2.model);
    expect(loads()).toHaveLength(1);
    expect(seen1).toEqual([0.25, 0.5, 0.75, 1]);
    expect(seen2).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('[X4] a missing model is the backend error, and is not kept: a later request tries again', async () => {
    const { clock, backend, gateway, loads } = setup();
    backend.missing.add('/m/none.gguf');
    const r = await gateway.acquire({ path: '/m/none.gguf', settings: S });
    expect(r.ok ? undefined : r.error.code).toBe('model_not_found');
    expect(gateway.current).toBeUndefined();
    backend.missing.clear();
    (await leased(gateway, clock, '/m/none.gguf')).release();
    expect(loads()).toHaveLength(2);
  });
});

describe('X4 gateway through the LLM nodes', () => {
  function modelPipeline(path: string, extra: Record<string, unknown> = {}) {
    return [
      add('model', 'llm::model', { path, context_size: 512, ...extra }),
      add('gen', 'llm::inference', { prompt: 'hi' }),
      add('unload', 'llm::unload'),
      link('model', 'gen', 'model'),
      link('gen', 'unload'),
    ];
  }

  it('[X4] load progress reaches the run as node_run_progress events', async () => {
    const t = taskEngine();
    await t.build(modelPipeline('a.gguf'));
    const { run } = await t.demandAndWait('gen');
    const progress = t
      .runEvents(run)
      .flatMap((e) => (e.type === 'node_run_progress' ? [[e.node, e.fraction, e.label]] : []));
    expect(progress).toEqual([
      ['model', 0.25, 'loading model'],
      ['model', 0.5, 'loading model'],
      ['model', 0.75, 'loading model'],
      ['model', 1, 'loading model'],
    ]);
  });

  it('[X4] a changed model path switches models; llm::unload frees; a new demand reloads', async () => {
    const t = taskEngine();
    await t.build(modelPipeline('a.gguf'));
    await t.demandAndWait('gen');
    value(await t.engine.tune('model', { path: 'b.gguf' }));
    await t.demandAndWait('gen');
    const { end } = await t.demandAndWait('unload');
    expect(end).toMatchObject({ type: 'run_completed', output: { unloaded: true } });
    // Unload always runs; the generation above it is cached, so it does not load the model again.
    value(await t.engine.tune('gen', { max_tokens: 2 }));
    const after = await t.demandAndWait('gen');
    expect(after.end).toMatchObject({ output: 'once upon' });
    expect(t.backend.log.filter((l) => !l.startsWith('generate'))).toEqual([
      'load a.gguf ctx=512 threads=1 seq=1',
      'dispose a.gguf',
      'load b.gguf ctx=512 threads=1 seq=1',
      'dispose b.gguf',
      'load b.gguf ctx=512 threads=1 seq=1',
    ]);
  });

  it('[X4] a missing model is a node failure with the backend code', async () => {
    const t = taskEngine();
    t.backend.missing.add('gone.gguf');
    await t.build(modelPipeline('gone.gguf'));
    const { run, end } = await t.demandAndWait('gen');
    expect(end).toMatchObject({ type: 'run_failed', node: 'model', code: 'model_not_found' });
    expect(t.nodesWith(run, 'node_run_failed')).toEqual(['model']);
  });

  it('[X4] concurrent demands share one loaded model', async () => {
    const t = taskEngine();
    await t.build([
      ...modelPipeline('a.gguf', { sequences: 2 }),
      add('gen2', 'llm::inference', { prompt: 'other' }),
      link('model', 'gen2', 'model'),
    ]);
    const r1 = value(await t.engine.demand('gen')).run;
    const r2 = value(await t.engine.demand('gen2')).run;
    await until(() => t.engine.runsInFlight().length === 0, t.clock);
    expect((await t.waitEnd(r1)).type).toBe('run_completed');
    expect((await t.waitEnd(r2)).type).toBe('run_completed');
    expect(t.backend.log.filter((l) => l.startsWith('load'))).toHaveLength(1);
    expect(t.backend.maxConcurrent).toBe(2);
  });
});
