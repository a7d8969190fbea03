import { afterAll, describe, expect, it } from 'vitest';
import { createTimerClock } from '../../../../clock';
import type { ScriptWorker, WorkerSpawner } from '../../../../host';
import { resolveLayout } from '../layout';
import { CompositorParamsSchema } from '../params';
import { diffFrames, makeFrame, randomScene, render } from '../testing/scenes';
import type { Scene } from '../testing/scenes';
import { createKernel } from './create-kernel';
import { createReferenceKernel } from './reference-kernel';
import type { CompositorKernel } from './types';
import { createWasmKernel } from './wasm-kernel';
import { createWasm2Kernel, CTRL_INTS, Ctrl } from './wasm2-kernel';
import type { RowSplit, Wasm2Kernel } from './wasm2-kernel';

// The two-thread kernel on real Node worker threads. The engine's tsconfig has no Node types,
// so worker_threads is imported untyped and the little used of it is declared here.

interface NodeWorker {
  postMessage(message: unknown): void;
  on(event: 'message' | 'error' | 'exit', listener: (value: never) => void): void;
  off(event: 'message', listener: (value: never) => void): void;
  terminate(): Promise<number>;
  unref(): void;
}
const workerThreads = 'node:worker_threads';
const { Worker } = (await import(/* @vite-ignore */ workerThreads)) as {
  Worker: new (source: string, options: { eval: true }) => NodeWorker;
};
const g = globalThis as unknown as {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  performance: { now(): number };
};
const clock = createTimerClock({
  now: () => g.performance.now(),
  setTimeout: (callback, ms) => g.setTimeout(callback, ms),
  clearTimeout: (handle) => g.clearTimeout(handle),
  setImmediate: (callback) => g.setTimeout(callback, 0),
});

interface Spawned {
  worker: NodeWorker;
  terminated: boolean;
  /** Resolves with the exit code once the thread has ended. */
  exited: Promise<number>;
}

/** A Node `WorkerSpawner` that records its workers; `source` replaces the engine's script. */
function nodeThreads(source?: string): { spawner: WorkerSpawner; spawned: Spawned[] } {
  const spawned: Spawned[] = [];
  const spawner: WorkerSpawner = {
    spawn(engineSource: string): ScriptWorker {
      const worker = new Worker(source ?? engineSource, { eval: true });
      worker.unref();
      const record: Spawned = {
        worker,
        terminated: false,
        exited: new Promise((resolve) => worker.on('exit', resolve as (code: never) => void)),
      };
      spawned.push(record);
      let ended: string | undefined;
      const exitListeners = new Set<(reason: string) => void>();
      const end = (reason: string) => {
        if (ended !== undefined) return;
        ended = reason;
        for (const listener of exitListeners) listener(reason);
      };
      worker.on('error', ((err: Error) => end(`error: ${err.message}`)) as (v: never) => void);
      worker.on('exit', ((code: number) => end(`exit code ${code}`)) as (v: never) => void);
      return {
        postMessage: (message) => worker.postMessage(message),
        onMessage(listener) {
          const l = listener as (value: never) => void;
          worker.on('message', l);
          return () => worker.off('message', l);
        },
        onExit(listener) {
          exitListeners.add(listener);
          return () => exitListeners.delete(listener);
        },
        terminate() {
          record.terminated = true;
          void worker.terminate();
        },
      };
    },
  };
  return { spawner, spawned };
}

/** A worker script that starts properly, then runs `body` (with `ctrl`, `port` in scope). */
function fakeWorker(body: string): string {
  return `
const port = require('node:worker_threads').parentPort;
port.once('message', (m) => {
  const ctrl = new Int32Array(m.memory.buffer, m.ctrl, ${CTRL_INTS});
  port.postMessage({ type: 'ready' });
  ${body}
});`;
}

/** The benchmark's scene: 1280×720, full-frame background, scaled PiP, rotated overlay. */
function benchScene(filter: 'bilinear' | 'nearest'): Scene {
  const inputs = [
    { pin: 'in_0', width: 1280, height: 720, data: makeFrame(1280, 720, 'opaque', 1) },
    { pin: 'in_1', width: 1280, height: 720, data: makeFrame(1280, 720, 'opaque', 2) },
    { pin: 'in_2', width: 640, height: 360, data: makeFrame(640, 360, 'mixed', 3) },
  ];
  const params = CompositorParamsSchema.parse({
    width: 1280,
    height: 720,
    layers: {
      in_0: { rect: { x: 0, y: 0, width: 1280, height: 720 } },
      in_1: { rect: { x: 840, y: 460, width: 400, height: 225 }, opacity: 0.8 },
      in_2: { rect: { x: 320, y: 180, width: 640, height: 360 }, rotation_degrees: 15 },
    },
  });
  const layers = resolveLayout(params, inputs);
  return {
    params,
    inputs,
    job: { width: 1280, height: 720, background: params.background, layers, filter },
  };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const kernels: CompositorKernel[] = [];
afterAll(() => {
  for (const kernel of kernels) kernel.dispose();
});

async function make(
  threads: WorkerSpawner,
  split: RowSplit = 'bands',
  bandTimeoutMs?: number,
): Promise<Wasm2Kernel> {
  const kernel = await createWasm2Kernel(threads, { clock, split, bandTimeoutMs });
  kernels.push(kernel);
  return kernel;
}

describe.each(['bands', 'halves'] as const)('wasm2 kernel (%s split)', (split) => {
  it('is byte-identical to the one-thread WASM kernel on random scenes, within the reference bounds', async () => {
    const one = await createWasmKernel();
    const two = await make(nodeThreads().spawner, split);
    expect([two.kind, two.threads]).toEqual(['wasm2', 2]);
    for (let seed = 1; seed <= 60; seed++) {
      for (const [filter, translucentBackground] of [
        ['bilinear', false],
        ['nearest', false],
        ['bilinear', true],
      ] as const) {
        const s = randomScene(seed, filter, { translucentBackground });
        const expected = render(one, s);
        const actual = render(two, s);
        const where = `seed ${seed} (${filter}${translucentBackground ? ', translucent' : ''})`;
        expect(same(actual, expected), where).toBe(true);
        const d = diffFrames(render(createReferenceKernel(), s), actual, translucentBackground);
        expect(d.mean, where).toBeLessThanOrEqual(1);
        if (filter === 'bilinear') expect(d.max, where).toBeLessThanOrEqual(12);
        else expect(d.over8, where).toBeLessThanOrEqual(0.02);
      }
    }
    // With halves the worker draws the top half of every frame; with bands it may or may not.
    if (split === 'halves') expect(two.workerBands).toBe(180);
    expect(two.degradedReason).toBeUndefined();
    one.dispose();
  });

  it('is byte-identical on the benchmark scene (1280×720), frame after frame', async () => {
    const one = await createWasmKernel();
    const two = await make(nodeThreads().spawner, split);
    for (const filter of ['bilinear', 'nearest'] as const) {
      const s = benchScene(filter);
      const expected = render(one, s);
      for (let i = 0; i < 5; i++) expect(same(render(two, s), expected), filter).toBe(true);
    }
    expect(two.threads).toBe(2);
    one.dispose();
  });
});

describe('wasm2 kernel without its worker', () => {
  it('a worker that exits between frames: the kernel goes on on one thread, output unchanged', async () => {
    const { spawner, spawned } = nodeThreads();
    const two = await make(spawner, 'halves');
    const one = await createWasmKernel();
    const s = randomScene(7, 'bilinear');
    expect(same(render(two, s), render(one, s))).toBe(true);
    await spawned[0]!.worker.terminate();
    expect(same(render(two, s), render(one, s))).toBe(true);
    expect(two.threads).toBe(1);
    expect(two.degradedReason).toMatch(/exited/);
    one.dispose();
  });

  it('a worker that does not finish its band: the frame is redrawn here after the timeout, the worker stopped', async () => {
    // Alive (a timer holds its loop; with nothing to do it would exit) but takes no band.
    const { spawner, spawned } = nodeThreads(fakeWorker('setInterval(() => {}, 60_000);'));
    const two = await make(spawner, 'halves', 100);
    const one = await createWasmKernel();
    const s = benchScene('bilinear');
    expect(same(render(two, s), render(one, s))).toBe(true);
    expect(two.degradedReason).toMatch(/did not finish a band in 100 ms/);
    expect(two.threads).toBe(1);
    expect(spawned[0]!.terminated).toBe(true);
    await spawned[0]!.exited;
    // Later frames draw on one thread, into the new output buffer.
    expect(same(render(two, s), render(one, s))).toBe(true);
    one.dispose();
  });

  it('a worker that fails a band: the frame is redrawn here at once', async () => {
    const { spawner } = nodeThreads(
      fakeWorker(`
        // seq is 0 until the first frame; waiting on 0 (not on a fresh load) cannot miss a frame
        // that was posted before this line ran.
        Atomics.wait(ctrl, ${Ctrl.seq}, 0);
        Atomics.store(ctrl, ${Ctrl.error}, 1);
        Atomics.notify(ctrl, ${Ctrl.done});
        port.postMessage({ type: 'error', message: 'RuntimeError: boom' });`),
    );
    // A long band timeout: only the error word can end the wait in time.
    const two = await make(spawner, 'halves', 60_000);
    const one = await createWasmKernel();
    const s = randomScene(11, 'nearest');
    expect(same(render(two, s), render(one, s))).toBe(true);
    expect(two.degradedReason).toMatch(/failed a band/);
    one.dispose();
  });

  it('a worker that reports an error while idle is stopped', async () => {
    const { spawner, spawned } = nodeThreads(
      fakeWorker(`setTimeout(() => port.postMessage({ type: 'error', message: 'lost' }), 10);`),
    );
    const two = await make(spawner);
    await spawned[0]!.exited;
    expect(two.degradedReason).toMatch(/compositor worker failed: lost/);
    const s = randomScene(3, 'bilinear');
    const one = await createWasmKernel();
    expect(same(render(two, s), render(one, s))).toBe(true);
    one.dispose();
  });

  it('dispose terminates the worker', async () => {
    const { spawner, spawned } = nodeThreads();
    const two = await createWasm2Kernel(spawner, { clock });
    render(two, randomScene(5, 'bilinear'));
    two.dispose();
    expect(spawned[0]!.terminated).toBe(true);
    await spawned[0]!.exited;
    expect(two.degradedReason).toBeUndefined();
  });
});

describe('createKernel with threads', () => {
  it('auto picks two threads when the host gives a spawner, one without', async () => {
    const { spawner, spawned } = nodeThreads();
    const withThreads = (await createKernel('auto', { threads: spawner, clock })).kernel;
    expect([withThreads.kind, withThreads.threads]).toEqual(['wasm2', 2]);
    withThreads.dispose();
    await spawned[0]!.exited;
    expect((await createKernel('auto', { clock })).kernel.kind).toBe('wasm');
  });

  it('falls back to one thread when the worker cannot start; wasm2 asked for explicitly rejects', async () => {
    const { spawner, spawned } = nodeThreads(
      `require('node:worker_threads').parentPort.once('message', () => { throw new Error('no'); });`,
    );
    const { kernel, fallbackReason } = await createKernel('auto', { threads: spawner, clock });
    expect(kernel.kind).toBe('wasm');
    expect(fallbackReason).toMatch(
      /two threads: compositor worker exited while starting: error: no/,
    );
    expect(spawned[0]!.terminated).toBe(true);
    await expect(createKernel('wasm2', { threads: spawner, clock })).rejects.toThrow(/exited/);
    await expect(createKernel('wasm2', { clock })).rejects.toThrow(/no worker spawner/);
  });
});
