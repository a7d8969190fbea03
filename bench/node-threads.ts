import { Worker } from 'node:worker_threads';
import type { ScriptWorker, WorkerSpawner } from '@patchbay/engine';

/**
 * The engine's `WorkerSpawner` on Node's worker_threads: the engine hands over the worker's
 * source, run here with `eval: true`. Workers are unref'd so an idle one never keeps the
 * process alive; their owner still terminates them.
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
