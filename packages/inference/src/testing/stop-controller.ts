import type { StopSignal } from '@patchbay/engine';

/** A `StopSignal` and the function that fires it (tests and hosts that cancel by hand). */
export function createStop(): { signal: StopSignal; stop: () => void } {
  let stopped = false;
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const listeners = new Set<() => void>();
  return {
    signal: {
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
    },
    stop() {
      if (stopped) return;
      stopped = true;
      resolve();
      for (const l of [...listeners]) l();
      listeners.clear();
    },
  };
}
