// @ts-check
/**
 * Entry of a codec worker thread (WorkerCodecHost). The heartbeat is an Int32 in a
 * SharedArrayBuffer the host reads without a message: it moves even while the host's loop is busy.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveCodec } from './codec-runtime.mjs';

if (!parentPort) throw new Error('worker-entry.mjs runs only as a worker thread');
const port = parentPort;
const beats = new Int32Array(workerData.heartbeat);

serveCodec({
  post: (msg, transfer) => port.postMessage(msg, transfer ?? []),
  listen: (fn) => port.on('message', fn),
  beat: () => void Atomics.add(beats, 0, 1),
});
