/**
 * `LlmBackend` over node-llama-cpp: loads GGUF models on the CPU and generates text on a pool
 * of context sequences.
 */
import { stat } from 'node:fs/promises';
import type {
  LlmBackend,
  Logger,
  LlmGenerateRequest,
  LlmGeneration,
  LlmLoadRequest,
  LlmModelSettings,
  LoadedLlmModel,
} from '@patchbay/engine';
import { err, ok, problem } from '@patchbay/protocol';
import type { ErrorCode, Result } from '@patchbay/protocol';
import { silentLogger } from '@patchbay/engine';
import {
  getLlama,
  LlamaCompletion,
  LlamaLogLevel,
  readGgufFileInfo,
  resolveChatWrapper,
} from 'node-llama-cpp';
import type {
  ChatWrapper,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
  LlamaText,
  Token,
} from 'node-llama-cpp';

/** CPU threads when neither the backend nor the request says (llm-notes: 1 is fastest on 2 cores). */
export const DEFAULT_LLM_THREADS = 1;
/** Share of the progress bar given to reading weights; the rest is creating the context. */
const WEIGHTS_PROGRESS_SHARE = 0.9;
/** Grammars kept per loaded model (built from JSON Schemas; building one costs a few ms). */
const GRAMMAR_CACHE_SIZE = 16;

export interface NodeLlamaBackendOptions {
  /**
   * The llama.cpp runtime's thread ceiling (`getLlama({maxThreads})`), default 1: a model's
   * `settings.threads` asks for threads up to it, never more, so a host sized for its machine
   * is not overrun by a pipeline's setting.
   */
  readonly threads?: number;
  /** Receives llama.cpp's own warnings and errors (failures also come back as `err` values). */
  readonly logger?: Logger;
}

function fail<T>(code: ErrorCode, message: string): Result<T> {
  return err(problem(code, message));
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function validSettings(s: LlmModelSettings): string | undefined {
  const positiveInt = (n: number) => Number.isInteger(n) && n > 0;
  if (!positiveInt(s.contextSize))
    return `contextSize must be a positive integer, got ${s.contextSize}`;
  if (!positiveInt(s.sequences)) return `sequences must be a positive integer, got ${s.sequences}`;
  if (!positiveInt(s.threads)) return `threads must be a positive integer, got ${s.threads}`;
  return undefined;
}

/**
 * Loads models with the real llama.cpp runtime (CPU only, never compiles). The runtime is
 * created on the first load and shared by every model this backend loads.
 */
export class NodeLlamaBackend implements LlmBackend {
  private readonly threads: number;
  private readonly logger: Logger;
  private llama: Promise<Llama> | undefined;
  /** Models loaded and not yet disposed: the backend's `dispose` frees them first. */
  private readonly models = new Set<NodeLlamaModel>();
  /** Loads under way: the backend's `dispose` aborts them and waits for them to end. */
  private readonly loads = new Set<{ abort: AbortController; done: Promise<unknown> }>();
  private disposed: Promise<void> | undefined;

  constructor(options: NodeLlamaBackendOptions = {}) {
    this.threads = options.threads ?? DEFAULT_LLM_THREADS;
    this.logger = (options.logger ?? silentLogger).child({ mod: 'llama.cpp' });
  }

  private runtime(): Promise<Llama> {
    if (!this.llama) {
      this.llama = getLlama({
        // A software Vulkan driver with no devices would otherwise be picked (100× slower).
        gpu: false,
        // Fail at once instead of compiling llama.cpp when no prebuilt binary fits.
        build: 'never',
        maxThreads: this.threads,
        logLevel: LlamaLogLevel.warn,
        logger: (level, message) => {
          const data = { level, message: message.trim() };
          // Load failures are returned as values; the runtime's own report is detail.
          if (level === LlamaLogLevel.warn) this.logger.debug(data, 'llama.cpp warning');
          else this.logger.warn(data, 'llama.cpp error');
        },
      });
      // A failed start (no prebuilt binary) is retried on the next load rather than cached.
      this.llama.catch(() => (this.llama = undefined));
    }
    return this.llama;
  }

  /**
   * Host shutdown: aborts loads under way, disposes every model this backend loaded (running
   * generations stop with what they have, queued ones fail) and waits for them, then frees the
   * llama.cpp runtime. Idempotent; never rejects. Later `load` calls return `model_load_failed`.
   */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      const loads = [...this.loads];
      for (const l of loads) l.abort.abort(new Error('backend disposed'));
      await Promise.all(loads.map((l) => l.done.catch(() => {})));
      await Promise.all(
        [...this.models].map((m) =>
          m.dispose().catch((e: unknown) => {
            this.logger.warn({ err: describe(e) }, 'freeing a model failed');
          }),
        ),
      );
      const llama = this.llama;
      this.llama = undefined;
      const runtime = await llama?.catch(() => undefined);
      await runtime?.dispose().catch((e: unknown) => {
        this.logger.warn({ err: describe(e) }, 'freeing the llama.cpp runtime failed');
      });
    })();
    return this.disposed;
  }

  async load(request: LlmLoadRequest): Promise<Result<LoadedLlmModel>> {
    if (this.disposed) return this.shutDown(request.path);
    const abort = new AbortController();
    let settle!: () => void;
    const entry = { abort, done: new Promise<void>((r) => (settle = r)) };
    this.loads.add(entry);
    const unlink = request.signal?.onStop(() => abort.abort(new Error('stopped')));
    try {
      return await this.loadChecked(request, abort.signal);
    } catch (e) {
      return fail('model_load_failed', `loading ${request.path} failed: ${describe(e)}`);
    } finally {
      unlink?.();
      this.loads.delete(entry);
      settle();
    }
  }

  private shutDown<T>(path: string): Result<T> {
    return fail('model_load_failed', `cannot load ${path}: the LLM backend was shut down`);
  }

  private async loadChecked(
    request: LlmLoadRequest,
    abortSignal: AbortSignal,
  ): Promise<Result<LoadedLlmModel>> {
    const { path, settings, onProgress, signal } = request;
    const invalid = validSettings(settings);
    if (invalid) return fail('bad_params', invalid);
    if (signal?.stopped) return fail('cancelled', `loading ${path} was cancelled`);

    const info = await stat(path).catch((e: NodeJS.ErrnoException) => e);
    if (info instanceof Error) {
      if (info.code === 'ENOENT' || info.code === 'ENOTDIR') {
        return fail('model_not_found', `model file not found: ${path}`);
      }
      return fail('model_invalid', `model file cannot be read: ${path} (${info.message})`);
    }
    if (!info.isFile()) return fail('model_invalid', `model path is not a file: ${path}`);
    try {
      const gguf = await readGgufFileInfo(path);
      // A file cut short still parses up to its tensor table; llama.cpp would then fail later
      // with a generic load error, so name the problem here.
      const lastStart = (gguf.tensorInfo ?? []).reduce(
        (max, t) => Math.max(max, Number(t.fileOffset)),
        0,
      );
      if (lastStart >= info.size) {
        return fail('model_invalid', `GGUF model is truncated (${info.size} bytes): ${path}`);
      }
    } catch (e) {
      return fail('model_invalid', `not a readable GGUF model: ${path} (${describe(e)})`);
    }

    if (this.disposed) return this.shutDown(path);
    let llama: Llama;
    try {
      llama = await this.runtime();
    } catch (e) {
      return fail('model_load_failed', `the llama.cpp runtime did not start: ${describe(e)}`);
    }
    if (this.disposed) return this.shutDown(path);

    let reported = 0;
    const progress = (fraction: number) => {
      if (fraction <= reported) return;
      reported = fraction;
      onProgress?.(fraction);
    };
    let model: LlamaModel | undefined;
    try {
      model = await llama.loadModel({
        modelPath: path,
        loadSignal: abortSignal,
        onLoadProgress: (p) => progress(Math.min(1, Math.max(0, p)) * WEIGHTS_PROGRESS_SHARE),
      });
      const context = await model.createContext({
        contextSize: settings.contextSize,
        sequences: settings.sequences,
        threads: settings.threads,
      });
      if (signal?.stopped || this.disposed) {
        await context.dispose();
        await model.dispose();
        if (this.disposed) return this.shutDown(path);
        return fail('cancelled', `loading ${path} was cancelled`);
      }
      progress(1);
      const loaded: NodeLlamaModel = new NodeLlamaModel(llama, model, context, path, settings, () =>
        this.models.delete(loaded),
      );
      this.models.add(loaded);
      return ok(loaded);
    } catch (e) {
      await model?.dispose().catch(() => {});
      if (this.disposed) return this.shutDown(path);
      if (signal?.stopped) return fail('cancelled', `loading ${path} was cancelled`);
      return fail('model_load_failed', `loading ${path} failed: ${describe(e)}`);
    }
  }
}

interface Running {
  readonly abort: AbortController;
  readonly done: Promise<unknown>;
}

/**
 * A loaded model: `settings.sequences` context sequences, each serving one request at a time.
 * A request waits in FIFO order when all are busy. Each sequence's history is cleared after
 * every request, so the same request gives the same output whatever ran before it.
 */
class NodeLlamaModel implements LoadedLlmModel {
  private readonly free: LlamaContextSequence[] = [];
  private readonly waiting: Array<(sequence: LlamaContextSequence | undefined) => void> = [];
  private readonly running = new Set<Running>();
  private readonly grammars = new Map<string, LlamaGrammar>();
  private chatWrapper: ChatWrapper | undefined;
  private disposed: Promise<void> | undefined;

  constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly path: string,
    readonly settings: LlmModelSettings,
    private readonly onDisposed: () => void,
  ) {
    for (let i = 0; i < settings.sequences; i++) this.free.push(context.getSequence());
  }

  private unloaded(): Result<LlmGeneration> {
    return fail('inference_failed', `the model ${this.path} was unloaded`);
  }

  /** Never throws: whatever goes wrong (a callback that throws included) is an `err` value. */
  async generate(request: LlmGenerateRequest): Promise<Result<LlmGeneration>> {
    try {
      return await this.generateChecked(request);
    } catch (e) {
      return fail('inference_failed', `generation failed: ${describe(e)}`);
    }
  }

  private async generateChecked(request: LlmGenerateRequest): Promise<Result<LlmGeneration>> {
    if (this.disposed) return this.unloaded();
    if (!Number.isInteger(request.maxTokens) || request.maxTokens <= 0) {
      return fail('bad_params', `maxTokens must be a positive integer, got ${request.maxTokens}`);
    }
    if (!(request.temperature >= 0)) {
      return fail('bad_params', `temperature must be ≥ 0, got ${request.temperature}`);
    }
    const cancelled = (): Result<LlmGeneration> =>
      ok({ text: '', tokens: 0, stopReason: 'cancelled' });
    if (request.signal.stopped) return cancelled();

    let grammar: LlamaGrammar | undefined;
    if (request.jsonSchema !== undefined) {
      const built = await this.grammarFor(request.jsonSchema);
      if (!built.ok) return built;
      grammar = built.value;
      if (this.disposed) return this.unloaded();
    }

    const sequence = await this.acquire(request.signal);
    if (!sequence) return this.disposed ? this.unloaded() : cancelled();
    // Unloading began while this request waited: its context is going away, so do not start.
    // (From here on the request is in `running` before any await, so `dispose` waits for it.)
    if (this.disposed) return this.unloaded();
    const abort = new AbortController();
    const unlink = request.signal.onStop(() => abort.abort(new Error('stopped')));
    let settle!: () => void;
    const entry: Running = { abort, done: new Promise<void>((r) => (settle = r)) };
    this.running.add(entry);
    const completion = new LlamaCompletion({ contextSequence: sequence });
    try {
      let tokens = 0;
      const input = this.inputFor(request);
      const result = await completion.generateCompletionWithMeta(input.tokens ?? request.prompt, {
        onTextChunk: (text) => request.onChunk(text),
        onToken: (t) => (tokens += t.length),
        signal: abort.signal,
        stopOnAbortSignal: true,
        maxTokens: request.maxTokens,
        temperature: request.temperature,
        ...(request.temperature > 0 && request.seed !== undefined ? { seed: request.seed } : {}),
        ...(grammar ? { grammar } : {}),
        ...(input.stopTriggers ? { customStopTriggers: input.stopTriggers } : {}),
      });
      const reason = result.metadata.stopReason;
      const stopReason: LlmGeneration['stopReason'] =
        reason === 'abort' ? 'cancelled' : reason === 'maxTokens' ? 'max_tokens' : 'eos';
      return ok({ text: result.response, tokens, stopReason });
    } catch (e) {
      return fail('inference_failed', `generation failed: ${describe(e)}`);
    } finally {
      unlink();
      completion.dispose({ disposeSequence: false });
      // The caller has its result now; clearing the sequence for the next request happens
      // after, and dispose waits for it through `done`.
      void this.release(sequence).then(() => {
        this.running.delete(entry);
        settle();
      });
    }
  }

  /**
   * Without a system prompt the prompt is completed as raw text. With one, the request is a
   * system turn plus a user turn in the model's own chat template (from its GGUF metadata;
   * node-llama-cpp's general template when it has none), the completion is the assistant's
   * reply, and it ends at the template's end-of-turn marker.
   */
  private inputFor(request: LlmGenerateRequest): {
    tokens?: Token[];
    stopTriggers?: LlamaText[];
  } {
    if (request.systemPrompt === undefined) return {};
    this.chatWrapper ??= resolveChatWrapper(this.model);
    const state = this.chatWrapper.generateContextState({
      chatHistory: [
        { type: 'system', text: request.systemPrompt },
        { type: 'user', text: request.prompt },
        { type: 'model', response: [] },
      ],
    });
    let tokens = state.contextText.tokenize(this.model.tokenizer);
    // LlamaCompletion prepends the BOS token itself.
    if (this.model.tokens.shouldPrependBosToken && tokens[0] === this.model.tokens.bos) {
      tokens = tokens.slice(1);
    }
    return { tokens, stopTriggers: state.stopGenerationTriggers };
  }

  private async grammarFor(schema: unknown): Promise<Result<LlamaGrammar>> {
    let key: string;
    try {
      key = JSON.stringify(schema);
    } catch (e) {
      return fail('bad_params', `jsonSchema is not serialisable: ${describe(e)}`);
    }
    const cached = this.grammars.get(key);
    if (cached) return ok(cached);
    if (typeof schema !== 'object' || schema === null) {
      return fail('bad_params', 'jsonSchema must be a JSON Schema object');
    }
    try {
      // The schema is checked by the grammar builder, which throws on what it cannot express.
      const grammar = await this.llama.createGrammarForJsonSchema(schema as never);
      if (this.grammars.size >= GRAMMAR_CACHE_SIZE) {
        this.grammars.delete(this.grammars.keys().next().value!);
      }
      this.grammars.set(key, grammar);
      return ok(grammar);
    } catch (e) {
      return fail('bad_params', `jsonSchema cannot constrain generation: ${describe(e)}`);
    }
  }

  private acquire(signal: LlmGenerateRequest['signal']): Promise<LlamaContextSequence | undefined> {
    const sequence = this.free.pop();
    if (sequence) return Promise.resolve(sequence);
    return new Promise((resolve) => {
      const waiter = (s: LlamaContextSequence | undefined) => {
        unlink();
        resolve(s);
      };
      const unlink = signal.onStop(() => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(undefined);
      });
      this.waiting.push(waiter);
    });
  }

  private async release(sequence: LlamaContextSequence): Promise<void> {
    if (this.disposed) return;
    await sequence.clearHistory().catch(() => {});
    const next = this.waiting.shift();
    if (next) next(sequence);
    else this.free.push(sequence);
  }

  /** Queued requests end with `inference_failed`; running ones stop and report `cancelled`. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      for (const w of this.waiting.splice(0)) w(undefined);
      const running = [...this.running];
      for (const r of running) r.abort.abort(new Error('unloaded'));
      await Promise.all(running.map((r) => r.done));
      try {
        await this.context.dispose();
        await this.model.dispose();
      } finally {
        this.onDisposed();
      }
    })();
    return this.disposed;
  }
}
