import { err, ok, problem } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import type { Clock } from '../../host';
import type {
  LlmBackend,
  LlmGenerateRequest,
  LlmGeneration,
  LlmLoadRequest,
  LoadedLlmModel,
} from '../task-services';

/**
 * A recording `LlmBackend` on a manual clock: loads take `loadMs` (reporting progress in
 * quarters), generation emits one word of `words` every `tokenMs` and stops at once on its
 * signal. Paths listed in `missing` fail like a missing file.
 */
export class FakeLlmBackend implements LlmBackend {
  readonly log: string[] = [];
  readonly missing = new Set<string>();
  words = ['once', ' upon', ' a', ' time', ' there', ' was'];
  tokenMs = 10;
  loadMs = 40;
  /** Generations running now, at most (concurrency seen). */
  maxConcurrent = 0;
  /** Generations running now. */
  running = 0;
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async load(request: LlmLoadRequest): Promise<Result<LoadedLlmModel>> {
    const s = request.settings;
    this.log.push(
      `load ${request.path} ctx=${s.contextSize} threads=${s.threads} seq=${s.sequences}`,
    );
    if (this.missing.has(request.path)) {
      return err(problem('model_not_found', `no model file at ${request.path}`));
    }
    for (let q = 1; q <= 4; q++) {
      await this.#sleep(this.loadMs / 4);
      request.onProgress?.(q / 4);
    }
    let disposed = false;
    const model: LoadedLlmModel = {
      path: request.path,
      settings: request.settings,
      generate: (g) => this.#generate(request.path, g),
      dispose: async () => {
        if (disposed) return;
        disposed = true;
        this.log.push(`dispose ${request.path}`);
      },
    };
    return ok(model);
  }

  async #generate(path: string, g: LlmGenerateRequest): Promise<Result<LlmGeneration>> {
    this.log.push(`generate ${path}: ${g.prompt}`);
    this.running++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
    try {
      let text = '';
      let tokens = 0;
      for (const word of this.words) {
        if (tokens >= g.maxTokens) return ok({ text, tokens, stopReason: 'max_tokens' });
        const stopped = await Promise.race([
          this.#sleep(this.tokenMs).then(() => false),
          g.signal.promise.then(() => true),
        ]);
        if (stopped) return ok({ text, tokens, stopReason: 'cancelled' });
        text += word;
        tokens++;
        g.onChunk(word);
      }
      return ok({ text, tokens, stopReason: 'eos' });
    } finally {
      this.running--;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimer(resolve, ms));
  }
}
