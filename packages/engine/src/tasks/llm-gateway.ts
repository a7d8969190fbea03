import { err, ok, problem } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import type { StopSignal } from '../node-api';
import type { LlmBackend, LlmModelSettings, LoadedLlmModel } from './task-services';

/** A use of the loaded model; release it when the generation ends so a switch may proceed. */
export interface LlmLease {
  readonly model: LoadedLlmModel;
  release(): void;
}

export interface LlmAcquireRequest {
  readonly path: string;
  readonly settings: LlmModelSettings;
  /** Load progress in [0, 1], only when this request (or one it joined) loads the model. */
  readonly onProgress?: (fraction: number) => void;
  /** Stops waiting (the load itself goes on: other requests may share it). */
  readonly signal?: StopSignal;
}

interface Slot {
  readonly key: string;
  readonly path: string;
  readonly settings: LlmModelSettings;
  readonly ready: Promise<Result<LoadedLlmModel>>;
  readonly progress: Set<(fraction: number) => void>;
  model: LoadedLlmModel | undefined;
  leases: number;
  /** Set once a switch or unload is waiting for the leases to end; no new lease is given. */
  retiring: Promise<void> | undefined;
  drained: Array<() => void>;
}

/**
 * The inference gateway (X4): one loaded model at a time over an `LlmBackend`. Requests for the
 * same path and settings share it (also while it is still loading: one load, many waiters);
 * different settings switch models — the old one is disposed after its in-flight generations end,
 * then the new one loads; `unload` frees it. The context size is part of the identity, so a
 * request for a larger context never runs on a smaller one.
 */
export class LlmGateway {
  readonly #backend: LlmBackend;
  #slot: Slot | undefined;
  /** Loads the backend started (for the Monitor and tests). */
  loads = 0;

  constructor(backend: LlmBackend) {
    this.#backend = backend;
  }

  /** The model loaded or loading now, if any. */
  get current(): { path: string; settings: LlmModelSettings; loaded: boolean } | undefined {
    const s = this.#slot;
    return s && !s.retiring ? { path: s.path, settings: s.settings, loaded: !!s.model } : undefined;
  }

  async acquire(request: LlmAcquireRequest): Promise<Result<LlmLease>> {
    const key = modelKey(request.path, request.settings);
    for (;;) {
      if (request.signal?.stopped) return err(problem('cancelled', 'stopped while waiting'));
      const slot = this.#slot;
      if (slot && !slot.retiring && slot.key === key) return this.#lease(slot, request);
      if (slot) {
        await this.#retire(slot);
        continue; // another request may have loaded meanwhile: look again
      }
      this.#slot = this.#load(key, request);
    }
  }

  /** Frees the loaded model once its in-flight generations end. Resolves whether one was loaded. */
  async unload(): Promise<boolean> {
    const slot = this.#slot;
    if (!slot) return false;
    await this.#retire(slot);
    return true;
  }

  #load(key: string, request: LlmAcquireRequest): Slot {
    const progress = new Set<(fraction: number) => void>();
    this.loads++;
    const ready = this.#backend
      .load({
        path: request.path,
        settings: request.settings,
        onProgress: (f) => {
          for (const listener of progress) listener(f);
        },
      })
      .catch((e: unknown) =>
        err(problem('model_load_failed', e instanceof Error ? e.message : 'model load failed')),
      );
    const slot: Slot = {
      key,
      path: request.path,
      settings: request.settings,
      ready,
      progress,
      model: undefined,
      leases: 0,
      retiring: undefined,
      drained: [],
    };
    void ready.then((r) => {
      slot.progress.clear();
      if (r.ok) slot.model = r.value;
      else if (this.#slot === slot) this.#slot = undefined; // a failed load is not kept: retry later
    });
    return slot;
  }

  async #lease(slot: Slot, request: LlmAcquireRequest): Promise<Result<LlmLease>> {
    slot.leases++;
    const onProgress = request.onProgress;
    if (onProgress && !slot.model) slot.progress.add(onProgress);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (onProgress) slot.progress.delete(onProgress);
      slot.leases--;
      if (slot.leases === 0) for (const d of slot.drained.splice(0)) d();
    };
    const stopped = request.signal
      ? request.signal.promise.then(() => err(problem('cancelled', 'stopped while loading')))
      : new Promise<never>(() => {});
    const r = await Promise.race([slot.ready, stopped]);
    if (!r.ok) {
      release();
      return r;
    }
    return ok({ model: r.value, release });
  }

  /** Waits for the slot's leases to end, then disposes its model and clears it. */
  #retire(slot: Slot): Promise<void> {
    slot.retiring ??= (async () => {
      if (slot.leases > 0) await new Promise<void>((resolve) => slot.drained.push(resolve));
      const r = await slot.ready;
      if (r.ok) await r.value.dispose();
      slot.model = undefined;
      if (this.#slot === slot) this.#slot = undefined;
    })();
    return slot.retiring;
  }
}

function modelKey(path: string, s: LlmModelSettings): string {
  return JSON.stringify([path, s.contextSize, s.threads, s.sequences]);
}

const gateways = new WeakMap<LlmBackend, LlmGateway>();

/** The one gateway of a backend: every engine (session) of a host shares its loaded model. */
export function gatewayFor(backend: LlmBackend): LlmGateway {
  let g = gateways.get(backend);
  if (!g) {
    g = new LlmGateway(backend);
    gateways.set(backend, g);
  }
  return g;
}
