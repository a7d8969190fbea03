import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { err } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import { CODEC_BATCH_FRAMES, CodecHostKind, isModuleSpec } from './codec-host';
import type { CodecFrame, CodecInfo, CodecSpec, RemoteHostOptions } from './codec-host';
import { CodecError } from './errors';
import { RemoteCodecHost } from './remote-codec-host';
import type { RemoteCodecMessage } from './remote-codec-host';
import { StderrTail } from './stderr-tail';

const PROCESS_ENTRY = fileURLToPath(new URL('./runtime/process-entry.mjs', import.meta.url));

export type ProcessCodecHostOptions = RemoteHostOptions;

/**
 * Runs a codec module in a child process. For native code that may wedge inside a blocking call:
 * `worker.terminate()` waits for such a call to return, a SIGKILL does not. Costs a process
 * (43 MB RSS, 100–170 ms to start, measured here) and a copy per message over IPC (no
 * transferable buffers).
 */
export class ProcessCodecHost extends RemoteCodecHost {
  protected readonly label = 'process';
  readonly kind = CodecHostKind.process;
  readonly #options: ProcessCodecHostOptions;
  #child: ChildProcess | undefined;
  #terminating: Promise<void> | undefined;
  #gone = false;
  readonly #stderr = new StderrTail();
  // As in the worker host: frames pushed in one turn of the event loop travel as one message.
  #batch: CodecFrame[] = [];
  #flushScheduled = false;

  constructor(options: ProcessCodecHostOptions = {}) {
    super();
    this.#options = options;
  }

  /** The child's pid while it runs (tests check it is gone). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get progress(): number {
    return this.messages;
  }

  start(codec: CodecSpec, init: unknown): Promise<Result<CodecInfo, CodecError>> {
    if (this.#child)
      throw new CodecError('host_misuse', 'a codec host runs one codec; start was called twice');
    if (!isModuleSpec(codec)) {
      return Promise.resolve(
        err(
          new CodecError(
            'codec_not_portable',
            `codec ${codec.name} is a function; a process needs a module URL`,
          ),
        ),
      );
    }
    const child = fork(PROCESS_ENTRY, [], {
      // `advanced` keeps typed arrays typed across IPC (JSON would turn them into objects).
      serialization: 'advanced',
      // Not the parent's flags (a test runner's loaders, an inspector port): the entry is plain JS.
      execArgv: [],
      env: this.#options.env ?? { ...process.env },
      // stdout is ignored so a chatty codec cannot corrupt media the CLI writes to its stdout.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#child = child;
    this.#stderr.follow(child.stderr);
    const ready = this.waitReady();
    child.on('message', (msg: RemoteCodecMessage) => this.onCodecMessage(msg));
    child.on('error', (e) => this.fail(`could not run: ${e.message}`));
    // `close` (not `exit`) so stderr is complete when the crash is reported.
    child.on('close', (code, signal) => {
      this.#gone = true;
      if (this.#terminating === undefined) {
        this.fail(
          `exited with ${signal ? `signal ${signal}` : `code ${code}`}${this.#stderr.suffix()}`,
        );
      }
      this.exitedWith({ code, signal });
    });
    this.#send({ type: 'start', module: codec.module, init });
    return ready;
  }

  push(frame: CodecFrame): void {
    const child = this.#requireChild();
    if (this.#terminating || this.finished) return;
    // IPC serializes (one copy) whatever we send, so there is nothing to transfer or pre-copy.
    this.#batch.push(frame);
    if (this.#batch.length >= (this.#options.batchFrames ?? CODEC_BATCH_FRAMES)) this.#flush(child);
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush(child));
    }
  }

  end(): void {
    const child = this.#requireChild();
    if (this.#terminating || this.finished) return;
    this.#flush(child);
    this.#send({ type: 'end' }, child);
  }

  #flush(child: ChildProcess): void {
    this.#flushScheduled = false;
    if (this.#batch.length === 0 || this.#terminating || this.#gone) return;
    this.#send({ type: 'input', frames: this.#batch }, child);
    this.#batch = [];
  }

  terminate(): Promise<void> {
    if (!this.#terminating) {
      const child = this.#child;
      this.settleReady(
        err(new CodecError('codec_start_failed', 'terminated before the codec was ready')),
      );
      if (child && !this.#gone) {
        // SIGKILL, not SIGTERM: a codec wedged in a native call never runs a signal handler.
        child.kill('SIGKILL');
        this.#terminating = this.exited.then(() => undefined);
      } else {
        this.#terminating = Promise.resolve();
        if (!child) this.exitedWith({ code: null, signal: null });
      }
    }
    return this.#terminating.then(() => this.exited).then(() => undefined);
  }

  #send(msg: object, child = this.#child): void {
    // With a callback a write to a dead child is not an 'error' event: its exit reports the crash.
    child?.send(msg, () => {});
  }

  #requireChild(): ChildProcess {
    if (!this.#child) throw new CodecError('host_misuse', 'push/end before start');
    return this.#child;
  }
}
