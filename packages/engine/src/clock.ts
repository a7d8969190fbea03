import type { Clock } from './host';

/** The timer functions a host already has (Node, browsers, Deno all provide these). */
export interface TimerFunctions {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs after pending I/O (Node `setImmediate`); hosts without one pass a `setTimeout(…, 0)`. */
  setImmediate(callback: () => void): unknown;
}

/** A real-time `Clock` over the host's timers (the engine itself never touches globals). */
export function createTimerClock(timers: TimerFunctions): Clock {
  return {
    now: () => timers.now(),
    setTimer(callback, ms) {
      const handle = timers.setTimeout(callback, ms);
      return () => timers.clearTimeout(handle);
    },
    yieldToHost: () => new Promise((resolve) => timers.setImmediate(resolve)),
  };
}
