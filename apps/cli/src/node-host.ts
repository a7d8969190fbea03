import { createTimerClock } from '@patchbay/engine';
import type { Clock } from '@patchbay/engine';

/** The engine's clock on Node's timers. */
export function nodeClock(): Clock {
  return createTimerClock({
    now: () => performance.now(),
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    setImmediate: (callback) => setImmediate(callback),
  });
}
