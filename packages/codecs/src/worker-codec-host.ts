import { Worker } from 'node:worker_threads';
import { err } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import { CODEC_BATCH_FRAMES, CodecHostKind, isModuleSpec, ownedData } from './codec-host';
import type { CodecFrame, CodecInfo, CodecSpec, RemoteHostOptions } from './codec-host';
import { CodecError } from './errors';
import { RemoteCodecHost } from './remote-codec-host';
import type { RemoteCodecMessage } from './remote-codec-host';
import { StderrTail } from './stderr-tail';

const WORKER_ENTRY = new URL('./runtime/worker-entry.mjs', import.meta.url);

export type WorkerCodecHostOptions = RemoteHostOptions;

/**
 * Runs a codec module in a `worker_threads` Worker. For JS and WASM codecs: `terminate()` stops
 * a thread stuck in JS, WASM or `Atomics.wait` within milliseconds. It cannot interrupt a
 * blocking native call (it waits for the call to return): use ProcessCodecHost for those.
 */
export class WorkerCodecHost extends RemoteCodecHost {
  protected readonly label = 'worker';
  readonly kind = CodecHostKind.worker;
  readonly #options: WorkerCodecHostOptions;
  // Bumped by the thread itself (Atomics.add), read here without a message round trip.
  readonly #beats = new Int32Array(new SharedArrayBuffer(4));
  #worker: Worker | undefined;
  #terminating: Promise<void> | undefined;
  #exited = false;
  readonly #stderr = new StderrTail();
  // Frames pushed in one turn of the event loop go to the thread as one message: an unpaced run
  // pushes several at once, and a message costs about as much as encoding a small frame.
  #batch: CodecFrame[] = [];
  #transfer: ArrayBuffer[] = [];
  #flushScheduled = false;

  constructor(options: WorkerCodecHostOptions = {}) {
    super();
    this.#options = options;
  }

  /** The thread's id while it runs (tests check it is gone). */
  get threadId(): number | undefined {
    return this.#worker?.threadId;
  }

  get progress(): number {
    return Atomics.load(this.#beats, 0) + this.messages;
  }

  start(codec: CodecSpec, init: unknown): Promise<Result<CodecInfo, CodecError>> {
    if (this.#worker)
      throw new CodecError('host_misuse', 'a codec host runs one codec; start was called twice');
    if (!isModuleSpec(codec)) {
      return Promise.resolve(
        err(
          new CodecError(
            'codec_not_portable',
            `codec ${codec.name} is a function; a worker needs a module URL`,
          ),
        ),
      );
    }
    const worker = new Worker(WORKER_ENTRY, {
      workerData: { heartbeat: this.#beats.buffer },
      env: this.#options.env ?? { ...process.env },
      // The codec's console output must not land in the host's stdout (the CLI writes media there).
      stdout: true,
      stderr: true,
    });
    this.#worker = worker;
    worker.stdout.resume();
    this.#stderr.follow(worker.stderr);
    const ready = this.waitReady();
    worker.on('message', (msg: RemoteCodecMessage) => this.onCodecMessage(msg));
    worker.on('error', (e: Error) => this.fail(`threw: ${e.message}`));
    worker.on('exit', (code) => {
      this.#exited = true;
      if (this.#terminating === undefined)
        this.fail(`exited with code ${code}${this.#stderr.suffix()}`);
      this.exitedWith({ code, signal: null });
    });
    worker.postMessage({ type: 'start', module: codec.module, init });
    return ready;
  }

  push(frame: CodecFrame, options: { transfer?: boolean } = {}): void {
    const worker = this.#requireWorker();
    if (this.#terminating || this.finished) return;
    const data = ownedData(frame.data, options.transfer === true);
    this.#batch.push({ ...frame, data });
    this.#transfer.push(data.buffer as ArrayBuffer);
    if (this.#batch.length >= (this.#options.batchFrames ?? CODEC_BATCH_FRAMES))
      this.#flush(worker);
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush(worker));
    }
  }

  end(): void {
    const worker = this.#requireWorker();
    if (this.#terminating || this.finished) return;
    this.#flush(worker);
    worker.postMessage({ type: 'end' });
  }

  #flush(worker: Worker): void {
    this.#flushScheduled = false;
    if (this.#batch.length === 0 || this.#terminating || this.#exited) return;
    worker.postMessage({ type: 'input', frames: this.#batch }, this.#transfer);
    this.#batch = [];
    this.#transfer = [];
  }

  terminate(): Promise<void> {
    if (!this.#terminating) {
      const worker = this.#worker;
      this.settleReady(
        err(new CodecError('codec_start_failed', 'terminated before the codec was ready')),
      );
      this.#terminating =
        worker && !this.#exited ? worker.terminate().then(() => undefined) : Promise.resolve();
      if (!worker) this.exitedWith({ code: null, signal: null });
    }
    return this.#terminating.then(() => this.exited).then(() => undefined);
  }

  #requireWorker(): Worker {
    if (!this.#worker) throw new CodecError('host_misuse', 'push/end before start');
    return this.#worker;
  }
}
