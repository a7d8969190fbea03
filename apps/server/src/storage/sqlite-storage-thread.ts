/**
 * The body of the storage thread (see sqlite-thread-storage.ts): opens the SqliteStorage on
 * this thread and answers calls in order. Logs and metrics go back to the server's thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ErrorCode, err, problem } from '@patchbay/protocol';
import type { Logger } from '@patchbay/engine';
import type { ServerMetrics } from '../host/server-context';
import { openSqliteStorageHere } from './sqlite-storage';
import type { ThreadMessage, ThreadOptions, ThreadRequest } from './sqlite-thread-storage';

const port = parentPort;
if (port === null) throw new Error('sqlite-storage-thread runs in a worker thread');
const post = (m: ThreadMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function forwardingLogger(bindings: Record<string, unknown>): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') => (data: Record<string, unknown>, msg: string) =>
      post({ type: 'log', level, data: { ...bindings, ...data }, msg });
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => forwardingLogger({ ...bindings, ...more }),
  };
}

const metrics: ServerMetrics = {
  observe: (name, labels, value) => post({ type: 'observe', name, labels: { ...labels }, value }),
  // The storage only observes latencies.
  setGauge: () => {},
  incCounter: () => {},
};

const options = workerData as ThreadOptions;
// Its own module name is added by the server side's child logger.
const opened = openSqliteStorageHere({ ...options, logger: forwardingLogger({}), metrics });

port.on('message', (m: ThreadRequest) => {
  switch (m.type) {
    case 'call': {
      if (!opened.ok) {
        post({ type: 'result', id: m.id, result: opened });
        return;
      }
      const storage = opened.value;
      const method = storage[m.method] as (...args: unknown[]) => Promise<unknown>;
      void method.apply(storage, m.args).then(
        (result) => post({ type: 'result', id: m.id, result: result as never }),
        (cause: unknown) => {
          post({ type: 'log', level: 'error', data: { err: cause }, msg: 'storage call threw' });
          post({
            type: 'result',
            id: m.id,
            result: err(problem(ErrorCode.storage_failed, `storage ${m.method} failed`)),
          });
        },
      );
      return;
    }
    case 'crash':
      throw new Error('storage thread crash requested');
    case 'close':
      void (async () => {
        if (opened.ok) await opened.value.close();
        post({ type: 'closed' });
        port.close();
      })();
      return;
  }
});
