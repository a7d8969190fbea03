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

/**
 * A thread running JavaScript the engine supplies. Messages are structured clones (a shared
 * `WebAssembly.Memory` or a compiled module may be posted).
 */
export interface ScriptWorker {
  postMessage(message: unknown): void;
  /** Subscribes to the worker's messages; returns a dispose function. */
  onMessage(listener: (message: unknown) => void): () => void;
  /**
   * Calls `listener` once when the worker stops for any reason (an uncaught error, an exit,
   * `terminate`), with a short description; returns a dispose function.
   */
  onExit(listener: (reason: string) => void): () => void;
  /** Stops the worker (also when it is blocked in `Atomics.wait`); idempotent. */
  terminate(): void;
}

/**
 * Starts workers from source text: a classic script that may use `WebAssembly` and `Atomics`
 * and talks to its parent through `require('node:worker_threads').parentPort` (Node:
 * `new Worker(source, { eval: true })`) or `self.postMessage`/`self.onmessage` (browsers: a
 * Blob URL). A host should not let an idle worker keep the process alive (Node: `unref()`).
 */
export interface WorkerSpawner {
  spawn(source: string): ScriptWorker;
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
