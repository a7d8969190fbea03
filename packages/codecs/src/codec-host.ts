import type { Result } from '@patchbay/protocol';
import type { CodecError } from './errors';

/**
 * Default for the most frames a host sends in one message. Batching saves a message per frame
 * (a message costs about as much as encoding a small frame); a batch must stay well below the
 * forward loop's in-flight window, so the codec has the next batch queued while its last output
 * travels back (a batch as big as the window would make them take turns). `defineCodecNode`
 * sizes it to a quarter of the window.
 */
export const CODEC_BATCH_FRAMES = 8;

/** Options the worker and process hosts share. */
export interface RemoteHostOptions {
  /** Environment of the thread or process (default: a copy of this process's). */
  env?: Record<string, string | undefined>;
  /** Most frames per message (default CODEC_BATCH_FRAMES). */
  batchFrames?: number;
}

/** The buffer types a frame may carry across a thread or process boundary. */
export type CodecData = Uint8Array | Int16Array | Float32Array;

/** One unit of codec input or output: a buffer plus timing. Plain data, so it can be posted. */
export interface CodecFrame {
  data: CodecData;
  ptsUs?: number;
  durationUs?: number;
  keyframe?: boolean;
  /** Codec-specific values (sample rate, channels, width, height…). */
  meta?: Record<string, number | string | boolean>;
}

/** What a codec reports once it is created and warmed (e.g. Opus's lookahead). */
export type CodecInfo = Readonly<Record<string, number | string | boolean>>;

/** Given to a codec's `create`: lets a long operation show it is alive (the watchdog sees it). */
export interface CodecEnv {
  beat(): void;
}

/**
 * A codec as hosts run it: `process` takes one input frame and returns the outputs it made
 * (maybe none: encoders buffer), `flush` drains at end of input. Either may be async.
 */
export interface CodecInstance {
  readonly info?: CodecInfo;
  process(frame: CodecFrame): CodecFrame[] | Promise<CodecFrame[]>;
  flush(): CodecFrame[] | Promise<CodecFrame[]>;
  close?(): void | Promise<void>;
}

export type CodecFactory = (init: unknown, env: CodecEnv) => CodecInstance | Promise<CodecInstance>;

/**
 * A codec whose code is an ES module exporting `create: CodecFactory`. Any host can run it: the
 * worker and process hosts load the module there, the inline host imports it here.
 */
export interface ModuleCodecSpec {
  readonly name: string;
  /** `file:` URL of the module (plain `.mjs`, so threads and processes need no build step). */
  readonly module: string;
}

/** A codec given as a function: only the inline host can run it (functions do not cross threads). */
export interface FactoryCodecSpec {
  readonly name: string;
  readonly create: CodecFactory;
}

export type CodecSpec = ModuleCodecSpec | FactoryCodecSpec;

/**
 * What a host hands back. `consumed` acknowledges input frames (summed over outputs it equals
 * the frames pushed; a host may acknowledge several at once); the flush's output has 0.
 */
export type CodecEvent =
  | { type: 'output'; frames: CodecFrame[]; consumed: number }
  /** The codec flushed after `end()`; no more events follow. */
  | { type: 'done' }
  /** The codec threw, or its thread/process died (C4); no more events follow. */
  | { type: 'crashed'; error: string };

/** How a codec's thread or process ended. */
export interface CodecExit {
  code: number | null;
  signal: string | null;
}

export const CodecHostKind = {
  /** A `worker_threads` Worker: for JS/WASM codecs; `terminate()` stops JS and WASM mid-call. */
  worker: 'worker',
  /** A child process: for native code that may block; a kill stops it even inside a native call. */
  process: 'process',
  /** The calling thread: only for cheap O(bytes) work (muxing) or APIs already async off-thread. */
  inline: 'inline',
} as const;
export type CodecHostKind = (typeof CodecHostKind)[keyof typeof CodecHostKind];

/**
 * Runs one codec instance somewhere other than the engine's control loop (C1). One host, one
 * codec, one stream: `start`, any number of `push`, `end`, then `done` (or `crashed`).
 */
export interface CodecHost {
  readonly kind: CodecHostKind;
  /** Creates and warms the codec; resolves when it takes input. A failure is a value. */
  start(codec: CodecSpec, init: unknown): Promise<Result<CodecInfo, CodecError>>;
  /**
   * Queues one input frame. With `transfer: true` the frame's buffer is handed over (detached on
   * this side); otherwise it is copied once, so a packet shared by a fan-out stays intact.
   */
  push(frame: CodecFrame, options?: { transfer?: boolean }): void;
  /** No more input: the codec flushes, emits its last outputs, then `done`. */
  end(): void;
  /** Outputs, `done` and `crashed`, in order. A crash before subscribing is replayed. Returns the dispose function. */
  subscribe(listener: (event: CodecEvent) => void): () => void;
  /** Liveness counter: moves whenever the codec finishes a frame, emits, or beats (C3). */
  readonly progress: number;
  /** Stops the codec now, even mid-call where the host can; resolves when it is gone. Idempotent. */
  terminate(): Promise<void>;
  /** Resolves once the codec's thread or process has exited (inline: once terminated). */
  readonly exited: Promise<CodecExit>;
}

/** Listeners, crash-once and the exit promise: the bookkeeping every host shares. */
export abstract class BaseCodecHost implements CodecHost {
  abstract readonly kind: CodecHostKind;
  readonly #listeners = new Set<(event: CodecEvent) => void>();
  #crash: string | undefined;
  #finished = false;
  #resolveExit!: (exit: CodecExit) => void;
  readonly exited: Promise<CodecExit> = new Promise((resolve) => (this.#resolveExit = resolve));

  abstract start(codec: CodecSpec, init: unknown): Promise<Result<CodecInfo, CodecError>>;
  abstract push(frame: CodecFrame, options?: { transfer?: boolean }): void;
  abstract end(): void;
  abstract get progress(): number;
  abstract terminate(): Promise<void>;

  subscribe(listener: (event: CodecEvent) => void): () => void {
    this.#listeners.add(listener);
    if (this.#crash !== undefined) listener({ type: 'crashed', error: this.#crash });
    return () => this.#listeners.delete(listener);
  }

  /** True once `done` or `crashed` was emitted. */
  protected get finished(): boolean {
    return this.#finished;
  }

  protected get crashReason(): string | undefined {
    return this.#crash;
  }

  protected emit(event: CodecEvent): void {
    if (this.#finished) return;
    if (event.type === 'crashed') this.#crash = event.error;
    if (event.type !== 'output') this.#finished = true;
    for (const l of [...this.#listeners]) l(event);
  }

  protected exitedWith(exit: CodecExit): void {
    this.#resolveExit(exit);
  }
}

/**
 * The buffer to post for a frame's data and whether it may be transferred. A view into a larger
 * buffer is copied to its own buffer first: posting the view would clone the whole backing store.
 */
export function ownedData(data: CodecData, transfer: boolean): CodecData {
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  if (transfer && whole && !isShared(data.buffer)) return data;
  return data.slice();
}

function isShared(buffer: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
}

/** True for specs the worker and process hosts can run. */
export function isModuleSpec(spec: CodecSpec): spec is ModuleCodecSpec {
  return 'module' in spec;
}
