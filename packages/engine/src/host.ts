/**
 * The world as the engine sees it. The engine compiles without Node or DOM globals; hosts
 * (server, CLI, tests, benchmarks) inject a clock, a logger and a metrics sink.
 */

/** Milliseconds on a monotonic clock, and timers on it. */
export interface Clock {
  now(): number;
  /** Calls `callback` after `ms`; returns a cancel function. */
  setTimer(callback: () => void, ms: number): () => void;
  /**
   * Lets the host run pending I/O before the promise resolves (Node: `setImmediate`). Unpaced
   * runs call it now and then so a fast pipeline never starves sockets and timers.
   */
  yieldToHost(): Promise<void>;
}

export interface Logger {
  debug(data: object, msg: string): void;
  info(data: object, msg: string): void;
  warn(data: object, msg: string): void;
  error(data: object, msg: string): void;
  child(bindings: object): Logger;
}

/** Prometheus-shaped sink. Labels are small, fixed sets (session, node, kind, state). */
export interface MetricsSink {
  setGauge(name: string, labels: Readonly<Record<string, string>>, value: number): void;
  incCounter(name: string, labels: Readonly<Record<string, string>>, by?: number): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

export const nullMetrics: MetricsSink = {
  setGauge() {},
  incCounter() {},
};
