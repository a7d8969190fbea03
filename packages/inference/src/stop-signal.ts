import type { StopSignal } from '@patchbay/engine';

/** A DOM `AbortSignal` that aborts when `stop` fires, and the function that unlinks them. */
export function abortSignalFor(stop: StopSignal | undefined): {
  signal: AbortSignal;
  dispose: () => void;
} {
  const controller = new AbortController();
  if (!stop) return { signal: controller.signal, dispose: () => {} };
  const dispose = stop.onStop(() => controller.abort(new Error('stopped')));
  return { signal: controller.signal, dispose };
}
