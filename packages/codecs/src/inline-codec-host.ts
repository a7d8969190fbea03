import { err, ok } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import { BaseCodecHost, CodecHostKind, isModuleSpec } from './codec-host';
import type {
  CodecEvent,
  CodecFactory,
  CodecFrame,
  CodecInfo,
  CodecInstance,
  CodecSpec,
} from './codec-host';
import { CodecError, errorText } from './errors';

/**
 * Runs a codec on the calling thread, one frame at a time, through the same contract as the
 * other hosts. Only for work that cannot block the loop: cheap O(bytes) steps such as Ogg page
 * assembly, or libraries whose API is already asynchronous off-thread (node-av on the libuv
 * pool). `terminate()` stops feeding the codec and abandons a pending call; it cannot interrupt
 * synchronous code, so a CPU-bound codec belongs in a worker.
 */
export class InlineCodecHost extends BaseCodecHost {
  readonly kind = CodecHostKind.inline;
  #codec: CodecInstance | undefined;
  #started = false;
  #terminated = false;
  #progress = 0;
  // Frames are processed strictly in order; `push` never runs codec code synchronously, so the
  // caller's loop gets control back before any output is emitted (as with the other hosts).
  readonly #queue: Array<() => Promise<CodecEvent[]>> = [];
  #running = false;

  get progress(): number {
    return this.#progress;
  }

  async start(codec: CodecSpec, init: unknown): Promise<Result<CodecInfo, CodecError>> {
    if (this.#started)
      throw new CodecError('host_misuse', 'a codec host runs one codec; start was called twice');
    this.#started = true;
    try {
      const create = isModuleSpec(codec)
        ? ((await import(codec.module)) as { create: CodecFactory }).create
        : codec.create;
      this.#codec = await create(init, { beat: () => void this.#progress++ });
      if (this.#terminated)
        return err(new CodecError('codec_start_failed', 'terminated before the codec was ready'));
      return ok(this.#codec.info ?? {});
    } catch (e) {
      return err(new CodecError('codec_start_failed', errorText(e), { cause: e }));
    }
  }

  push(frame: CodecFrame): void {
    const codec = this.#require();
    this.#enqueue(async () => {
      const frames = await codec.process(frame);
      this.#progress++;
      return [{ type: 'output', frames, consumed: 1 }];
    });
  }

  end(): void {
    const codec = this.#require();
    this.#enqueue(async () => {
      const frames = await codec.flush();
      this.emit({ type: 'output', frames, consumed: 0 });
      await codec.close?.();
      return [{ type: 'done' }];
    });
  }

  terminate(): Promise<void> {
    if (!this.#terminated) {
      this.#terminated = true;
      this.exitedWith({ code: null, signal: null });
    }
    return Promise.resolve();
  }

  // A call abandoned by `terminate()` may still finish later: its results go nowhere.
  protected override emit(event: CodecEvent): void {
    if (!this.#terminated) super.emit(event);
  }

  #require(): CodecInstance {
    if (!this.#codec) throw new CodecError('host_misuse', 'push/end before start');
    return this.#codec;
  }

  #enqueue(step: () => Promise<CodecEvent[]>): void {
    this.#queue.push(step);
    if (this.#running) return;
    this.#running = true;
    queueMicrotask(() => this.#next());
  }

  /**
   * Starts the next queued call. When a call finishes, the one after it starts before its
   * results are emitted: for a codec working off-thread (libvpx on the libuv pool) the next frame
   * is handed over at once, instead of after whatever the results wake on this thread (a
   * compositor drawing the next frame would otherwise leave the encoder idle for that long).
   */
  #next(): void {
    const step = this.#queue.shift();
    if (!step || this.#terminated || this.finished) {
      this.#running = false;
      return;
    }
    step().then(
      (events) => {
        this.#next();
        for (const event of events) this.emit(event);
      },
      (e: unknown) => {
        this.emit({ type: 'crashed', error: `codec threw: ${errorText(e)}` });
        this.#next();
      },
    );
  }
}
