import type { StopSignal } from './node-api';

/** A `StopSignal` and the function that fires it. */
export interface StopController {
  readonly signal: StopSignal;
  stop(): void;
}

export function createStopController(): StopController {
  let stopped = false;
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const listeners = new Set<() => void>();
  const signal: StopSignal = {
    get stopped() {
      return stopped;
    },
    promise,
    onStop(listener) {
      if (stopped) {
        listener();
        return () => {};
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    signal,
    stop() {
      if (stopped) return;
      stopped = true;
      resolve();
      for (const l of [...listeners]) l();
      listeners.clear();
    },
  };
}
