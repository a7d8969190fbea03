import type { Clock, ScriptWorker, WorkerSpawner } from '../../../../host';
import { decodeBase64 } from './base64';
import { COMPOSITOR_WASM_SHARED_BASE64 } from './generated/compositor-wasm-shared';
import type { KernelKind } from './types';
import { wasmApi } from './wasm-api';
import type { WasmMemory, WasmModule } from './wasm-api';
import { kernelExports, WasmKernel } from './wasm-kernel';
import type { KernelExports } from './wasm-kernel';

// The two-thread kernel: the WASM kernel on a shared WebAssembly.Memory that a worker also
// instantiates the module on. Frames, maps, job records and the output all live in that memory,
// so per frame nothing is copied or posted: the calling thread writes the job records, bumps a
// sequence word (Atomics.store + notify), and both threads take bands of rows from a shared
// counter (compare-exchange) until none are left; the caller then waits (Atomics.wait, with a
// timeout) for the worker's last band. Taking bands from a counter balances the threads without
// a clock or a cost model, and a worker that wakes late only means the caller draws more bands.
//
// A worker that errs, exits or does not finish a band in time is stopped and the kernel keeps
// going on the calling thread alone (`degradedReason` says why): its memory and module are the
// same, so nothing is lost but speed. The frame in flight is redrawn into a new output buffer,
// since a stopped worker may still be writing the old one until its thread has ended.
//
// The calling thread blocks in Atomics.wait, which Node allows on its main thread; browsers do
// not, so a browser host would run the engine itself in a worker to use this kernel.

/** Pages of the shared memory's maximum; matches SHARED_MAX_PAGES in scripts/build-kernel.mjs. */
const SHARED_MAX_PAGES = 32768;
/** How long the worker may take to start and instantiate the module. */
export const WORKER_START_TIMEOUT_MS = 10_000;
/** How long the caller waits for a band the worker has taken before giving up on the worker. */
export const WORKER_BAND_TIMEOUT_MS = 2_000;
/** Bands per frame: enough that the last one is a small share of the frame. */
const BANDS_PER_FRAME = 24;
const MIN_BAND_ROWS = 4;
/**
 * Polls of a control word before sleeping in Atomics.wait: frames usually come back to back
 * while running flat out, and a futex wake costs tens of microseconds, a large share of a
 * millisecond frame. Each side spins for a few microseconds at most.
 */
const MAIN_SPINS = 2_000;
const WORKER_SPINS = 20_000;
/** The worker checks the stop word this often while idle. */
const WORKER_IDLE_WAIT_MS = 1_000;

/** Int32 words of the control block (shared memory, written with Atomics where it matters). */
export const Ctrl = {
  /** Frame sequence number: bumped per frame; the worker sleeps on it. */
  seq: 0,
  /**
   * (seq & TAG_MASK) << BAND_BITS | next band to take: a band is taken by compare-exchange.
   * CLAIM_CLOSED while the caller rewrites the job words between frames.
   */
  claim: 1,
  /** Bands finished this frame; the worker notifies on it when it finishes the last. */
  done: 2,
  /** Nonzero: the worker returns. */
  stop: 3,
  /** Nonzero: the worker failed a band (it also posts the error). */
  error: 4,
  /** Job: records address, record count, rows per band, output height, bands to take. */
  cmds: 5,
  count: 6,
  bandRows: 7,
  height: 8,
  bands: 9,
  /** Bands the worker has drawn since it started (tests check it took part). */
  workerBands: 10,
} as const;
export const CTRL_INTS = 16;
/**
 * Low bits of the claim word: the next band. Bands per frame are at most BANDS_PER_FRAME (or 1
 * with halves), far below the field's limit; the seq tag gets the other 23 bits, so a stalled
 * worker's stale claim cannot match a later frame's (ABA) unless 2^23 frames pass meanwhile.
 */
const BAND_BITS = 8;
const BAND_MASK = (1 << BAND_BITS) - 1;
const TAG_MASK = 0x7fffff;
/** A claim no thread takes a band from: band field all ones, above any frame's band count. */
const CLAIM_CLOSED = BAND_MASK;

/**
 * How rows are shared: `bands` (default) lets both threads take bands from a counter; `halves`
 * gives the worker the top half and the caller the bottom half, so the worker always draws
 * (tests use it to make sure the worker's rows are checked).
 */
export type RowSplit = 'bands' | 'halves';

export interface Wasm2Options {
  /** Times the worker's start-up (`WORKER_START_TIMEOUT_MS`). */
  clock: Clock;
  split?: RowSplit;
  /** Overrides `WORKER_BAND_TIMEOUT_MS` (tests). */
  bandTimeoutMs?: number;
}

/** The worker: instantiates the module on the shared memory, then takes bands until stopped. */
const WORKER_SOURCE = `'use strict';
const nodePort = typeof require === 'function' ? require('node:worker_threads').parentPort : null;
const send = (message) => (nodePort ? nodePort.postMessage(message) : self.postMessage(message));
const describe = (err) => String((err && err.stack) || err);
async function start(message) {
  if (!message || message.type !== 'init') return;
  let run;
  let ctrl;
  try {
    const instance = await WebAssembly.instantiate(message.module, { env: { memory: message.memory } });
    run = instance.exports.run;
    ctrl = new Int32Array(message.memory.buffer, message.ctrl, ${CTRL_INTS});
  } catch (err) {
    send({ type: 'error', message: 'instantiate: ' + describe(err) });
    return;
  }
  // Read before 'ready': the first frame may bump seq as soon as the caller hears of it.
  let seen = Atomics.load(ctrl, ${Ctrl.seq});
  send({ type: 'ready' });
  for (;;) {
    let seq = Atomics.load(ctrl, ${Ctrl.seq});
    for (let i = 0; seq === seen && i < ${WORKER_SPINS}; i++) seq = Atomics.load(ctrl, ${Ctrl.seq});
    while (seq === seen) {
      if (Atomics.load(ctrl, ${Ctrl.stop}) !== 0) return;
      Atomics.wait(ctrl, ${Ctrl.seq}, seen, ${WORKER_IDLE_WAIT_MS});
      seq = Atomics.load(ctrl, ${Ctrl.seq});
    }
    if (Atomics.load(ctrl, ${Ctrl.stop}) !== 0) return;
    seen = seq;
    // The job words were written before seq; a band taken below proves they are this frame's:
    // the caller closes the claim word before it rewrites them for the next frame, so words read
    // here after that (they are read before the claim word) come with a claim that fails.
    const tag = (seq & ${TAG_MASK}) << ${BAND_BITS};
    const cmds = Atomics.load(ctrl, ${Ctrl.cmds});
    const count = Atomics.load(ctrl, ${Ctrl.count});
    const rows = Atomics.load(ctrl, ${Ctrl.bandRows});
    const height = Atomics.load(ctrl, ${Ctrl.height});
    const bands = Atomics.load(ctrl, ${Ctrl.bands});
    for (;;) {
      const c = Atomics.load(ctrl, ${Ctrl.claim});
      if ((c & ~${BAND_MASK}) !== tag || (c & ${BAND_MASK}) >= bands) break;
      if (Atomics.compareExchange(ctrl, ${Ctrl.claim}, c, c + 1) !== c) continue;
      const y0 = (c & ${BAND_MASK}) * rows;
      try {
        run(cmds, count, y0, Math.min(height, y0 + rows));
      } catch (err) {
        Atomics.store(ctrl, ${Ctrl.error}, 1);
        Atomics.notify(ctrl, ${Ctrl.done});
        send({ type: 'error', message: describe(err) });
        return;
      }
      Atomics.add(ctrl, ${Ctrl.workerBands}, 1);
      if (Atomics.add(ctrl, ${Ctrl.done}, 1) + 1 === bands) Atomics.notify(ctrl, ${Ctrl.done});
    }
  }
}
if (nodePort) nodePort.once('message', start);
else self.onmessage = (event) => { self.onmessage = null; start(event.data); };
`;

let sharedModule: Promise<WasmModule> | undefined;

/**
 * The two-thread WebAssembly kernel, its worker started by `spawner`. Rejects where shared
 * WebAssembly memory is unavailable or the worker does not start; `createKernel` then falls
 * back to the one-thread kernel.
 */
export async function createWasm2Kernel(
  spawner: WorkerSpawner,
  options: Wasm2Options,
): Promise<Wasm2Kernel> {
  const api = wasmApi();
  if (!api) throw new Error('WebAssembly is not available');
  if (typeof (globalThis as { Atomics?: { wait?: unknown } }).Atomics?.wait !== 'function')
    throw new Error('Atomics.wait is not available');
  const bytes = decodeBase64(COMPOSITOR_WASM_SHARED_BASE64);
  if (!api.validate(bytes))
    throw new Error('WebAssembly SIMD with threads (shared memory) is not supported here');
  sharedModule ??= api.compile(bytes);
  const module = await sharedModule;
  // Throws where shared memory is disabled (a browser page without cross-origin isolation).
  const memory = new api.Memory({ initial: 1, maximum: SHARED_MAX_PAGES, shared: true });
  const instance = new api.Instance(module, { env: { memory } });
  const kernel = new Wasm2Kernel(kernelExports(instance), memory, options);
  await kernel.start(spawner, module);
  return kernel;
}

/** The WASM kernel with rows split between the calling thread and one worker. */
export class Wasm2Kernel extends WasmKernel {
  override get kind(): KernelKind {
    return 'wasm2';
  }
  override get threads(): number {
    return this.worker ? 2 : 1;
  }
  private worker: ScriptWorker | undefined;
  private readonly ctrlPtr: number;
  private readonly split: RowSplit;
  private readonly bandTimeoutMs: number;
  private readonly clock: Clock;
  private seq = 0;
  /** Buffers a stopped worker may still write; freed when its thread has ended. */
  private abandoned: number[] = [];
  private workerEnded = false;
  private disposed = false;
  private readonly offs: (() => void)[] = [];
  private degraded: string | undefined;

  constructor(ex: KernelExports, memory: WasmMemory, options: Wasm2Options) {
    super(ex, memory);
    this.ctrlPtr = this.arena.alloc(CTRL_INTS * 4);
    this.ctrl().fill(0);
    this.split = options.split ?? 'bands';
    this.bandTimeoutMs = options.bandTimeoutMs ?? WORKER_BAND_TIMEOUT_MS;
    this.clock = options.clock;
  }

  /** Why the kernel composites on one thread, once its worker is gone. */
  get degradedReason(): string | undefined {
    return this.degraded;
  }

  /** Bands the worker has drawn (0 once it is gone). */
  get workerBands(): number {
    return this.worker ? Atomics.load(this.ctrl(), Ctrl.workerBands) : 0;
  }

  /** Spawns the worker and resolves when it has instantiated the module. */
  async start(spawner: WorkerSpawner, module: WasmModule): Promise<void> {
    const worker = spawner.spawn(WORKER_SOURCE);
    try {
      await new Promise<void>((resolve, reject) => {
        const cancelTimer = this.clock.setTimer(
          () =>
            reject(new Error(`compositor worker did not start in ${WORKER_START_TIMEOUT_MS} ms`)),
          WORKER_START_TIMEOUT_MS,
        );
        const settle = (error?: Error) => {
          cancelTimer();
          offMessage();
          offExit();
          if (error) reject(error);
          else resolve();
        };
        const offMessage = worker.onMessage((message) => {
          const m = message as { type?: string; message?: string };
          if (m.type === 'ready') settle();
          else if (m.type === 'error') settle(new Error(`compositor worker: ${m.message}`));
        });
        const offExit = worker.onExit((reason) =>
          settle(new Error(`compositor worker exited while starting: ${reason}`)),
        );
        worker.postMessage({ type: 'init', module, memory: this.memory, ctrl: this.ctrlPtr });
      });
    } catch (error) {
      worker.terminate();
      throw error;
    }
    this.worker = worker;
    this.offs.push(
      worker.onMessage((message) => {
        const m = message as { type?: string; message?: string };
        if (m.type === 'error') this.stopWorker(`compositor worker failed: ${m.message}`);
      }),
      worker.onExit((reason) => {
        this.workerEnded = true;
        this.stopWorker(`compositor worker exited: ${reason}`);
        // Its thread has ended: nothing writes the abandoned buffers any more.
        for (const ptr of this.abandoned) this.arena.release(ptr);
        this.abandoned = [];
      }),
    );
  }

  override dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stopWorker(undefined);
    super.dispose();
  }

  protected override runRows(cmds: number, count: number, height: number): boolean {
    if (!this.worker) return super.runRows(cmds, count, height);
    const ctrl = this.ctrl();
    const ex = this.ex;
    const halves = this.split === 'halves';
    const bandRows = halves
      ? Math.ceil(height / 2)
      : Math.max(MIN_BAND_ROWS, Math.ceil(height / BANDS_PER_FRAME));
    // With halves the worker may take only the first band; the caller draws the rest itself.
    const bands = halves ? 1 : Math.ceil(height / bandRows);
    this.seq = (this.seq + 1) | 0;
    const tag = (this.seq & TAG_MASK) << BAND_BITS;
    // Closed first: a worker late from the last frame may read some of the words below and
    // still hold that frame's tag; with the claim word closed meanwhile, it cannot take a band.
    Atomics.store(ctrl, Ctrl.claim, CLAIM_CLOSED);
    Atomics.store(ctrl, Ctrl.cmds, cmds);
    Atomics.store(ctrl, Ctrl.count, count);
    Atomics.store(ctrl, Ctrl.bandRows, bandRows);
    Atomics.store(ctrl, Ctrl.height, height);
    Atomics.store(ctrl, Ctrl.bands, bands);
    Atomics.store(ctrl, Ctrl.done, 0);
    Atomics.store(ctrl, Ctrl.claim, tag);
    Atomics.store(ctrl, Ctrl.seq, this.seq);
    Atomics.notify(ctrl, Ctrl.seq, 1);

    if (halves) {
      ex.run(cmds, count, Math.min(height, bandRows), height);
    } else {
      for (;;) {
        const c = Atomics.load(ctrl, Ctrl.claim);
        const band = c & BAND_MASK;
        if (band >= bands) break;
        if (Atomics.compareExchange(ctrl, Ctrl.claim, c, c + 1) !== c) continue;
        ex.run(cmds, count, band * bandRows, Math.min(height, (band + 1) * bandRows));
        Atomics.add(ctrl, Ctrl.done, 1);
      }
    }

    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctrl, Ctrl.done);
      if (done >= bands) return true;
      if (Atomics.load(ctrl, Ctrl.error) !== 0) {
        this.stopWorker('compositor worker failed a band');
        return false;
      }
      if (spins < MAIN_SPINS) {
        spins++;
        continue;
      }
      // Each wait ends by the worker's notify, a change of `done` (progress), or the timeout.
      if (Atomics.wait(ctrl, Ctrl.done, done, this.bandTimeoutMs) === 'timed-out') {
        this.stopWorker(`compositor worker did not finish a band in ${this.bandTimeoutMs} ms`);
        return false;
      }
    }
  }

  /**
   * Stops the worker: sets the stop word, terminates it, and abandons the buffers it may still
   * be writing. `reason` undefined: a deliberate stop (dispose), not a degradation.
   */
  private stopWorker(reason: string | undefined): void {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    if (reason !== undefined) this.degraded ??= reason;
    const ctrl = this.ctrl();
    Atomics.store(ctrl, Ctrl.stop, 1);
    Atomics.notify(ctrl, Ctrl.seq);
    if (!this.workerEnded) this.abandoned.push(...this.abandonFrameBuffers());
    if (this.disposed) for (const off of this.offs.splice(0)) off();
    worker.terminate();
  }

  private ctrl(): Int32Array {
    return new Int32Array(this.memory.buffer, this.ctrlPtr, CTRL_INTS);
  }
}
