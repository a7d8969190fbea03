import { Worker } from 'node:worker_threads';
import { createTimerClock } from '@patchbay/engine';
import type { Clock, ScriptWorker, WorkerSpawner } from '@patchbay/engine';

/**
 * The engine's world on Node, for every Node host (server, CLI, benchmarks): the engine itself
 * touches no globals, so these adapters are the one place timers and threads come from.
 */

/** The engine clock on Node's timers; `yieldToHost` lets pending I/O run (`setImmediate`). */
export function nodeClock(): Clock {
  return createTimerClock({
    now: () => performance.now(),
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    setImmediate: (callback) => setImmediate(callback),
  });
}

/**
 * The engine's `WorkerSpawner` on worker_threads (e.g. the compositor's second thread): the
 * engine hands over the worker's source, run with `eval: true`. Workers are unref'd so an idle
 * one never keeps the process alive; their owner still terminates them.
 */
export function nodeWorkerSpawner(): WorkerSpawner {
  return {
    spawn(source: string): ScriptWorker {
      const worker = new Worker(source, { eval: true });
      worker.unref();
      let ended: string | undefined;
      const exitListeners = new Set<(reason: string) => void>();
      const end = (reason: string) => {
        if (ended !== undefined) return;
        ended = reason;
        for (const listener of exitListeners) listener(reason);
        exitListeners.clear();
      };
      // An uncaught error is followed by 'exit'; the error is the better reason.
      worker.on('error', (err: Error) => end(`error: ${err.message}`));
      worker.on('exit', (code: number) => end(`exit code ${code}`));
      return {
        postMessage: (message) => worker.postMessage(message),
        onMessage(listener) {
          worker.on('message', listener);
          return () => worker.off('message', listener);
        },
        onExit(listener) {
          exitListeners.add(listener);
          return () => exitListeners.delete(listener);
        },
        terminate: () => void worker.terminate(),
      };
    },
  };
}
