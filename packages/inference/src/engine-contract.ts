/**
 * The engine's task-service contract (`packages/engine/src/tasks/task-services.ts`), seen from
 * this package. `@patchbay/engine` does not export these names from its entry yet, and imports
 * may not reach into its source, so this file mirrors them verbatim; when the engine exports
 * them, this file becomes a list of re-exports and nothing else changes.
 */
import type { Result } from '@patchbay/protocol';
import type { StopSignal } from '@patchbay/engine';

/** `EngineServices` keys. */
export const LLM_BACKEND_SERVICE = 'llmBackend';
export const FILE_STORE_SERVICE = 'fileStore';
export const HTTP_CLIENT_SERVICE = 'httpClient';

/** Settings that identify a loaded model together with its path (X4: equal → reuse). */
export interface LlmModelSettings {
  /** Tokens of context per sequence. */
  readonly contextSize: number;
  /** CPU threads for inference (default 1 on small machines: see llm-notes). */
  readonly threads: number;
  /** Parallel sequences the loaded model's context offers (concurrent requests share it). */
  readonly sequences: number;
}

export interface LlmLoadRequest {
  /** A path the host has already confined (see FileStore.resolve). */
  readonly path: string;
  readonly settings: LlmModelSettings;
  /** Load progress in [0, 1], monotonic; the last call is 1. */
  readonly onProgress?: (fraction: number) => void;
  readonly signal?: StopSignal;
}

export interface LlmGenerateRequest {
  readonly prompt: string;
  readonly systemPrompt?: string;
  readonly maxTokens: number;
  /** 0 = greedy. */
  readonly temperature: number;
  readonly seed?: number;
  /** Constrain output with a grammar built from this JSON Schema. */
  readonly jsonSchema?: unknown;
  /** Each decoded piece of text, in order; their concatenation is the final text. */
  readonly onChunk: (text: string) => void;
  /** Stops generation at once; the result then has `stopReason: 'cancelled'`. */
  readonly signal: StopSignal;
}

export interface LlmGeneration {
  readonly text: string;
  readonly tokens: number;
  readonly stopReason: 'eos' | 'max_tokens' | 'cancelled';
}

export interface LoadedLlmModel {
  readonly path: string;
  readonly settings: LlmModelSettings;
  /** Runs on a free context sequence; several calls may run at once up to `settings.sequences`. */
  generate(request: LlmGenerateRequest): Promise<Result<LlmGeneration>>;
  /** Frees the context and the weights. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Loads GGUF models. A missing file or one that is not GGUF is an `err` with a clear message,
 * never a throw. Reuse/switch/unload policy (X4) is the engine's gateway, not the backend's.
 */
export interface LlmBackend {
  load(request: LlmLoadRequest): Promise<Result<LoadedLlmModel>>;
}

/**
 * Files confined to the host's data directory (X3). Paths are relative; traversal, absolute
 * paths and symlinks that lead out are refused with an `err` (code `path_not_allowed`).
 */
export interface FileStore {
  /** The absolute path a relative one names inside the data directory, after the checks. */
  resolve(relativePath: string): Promise<Result<string>>;
  read(relativePath: string): Promise<Result<Uint8Array>>;
  write(relativePath: string, data: Uint8Array): Promise<Result<void>>;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body in arrival order (SSE is parsed by the engine). */
  readonly body: AsyncIterable<Uint8Array>;
}

/** Outbound HTTP for `llm::openai`. A refused connection is an `err`, not a throw. */
export interface HttpClient {
  request(request: {
    readonly method: 'GET' | 'POST';
    readonly url: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
    readonly signal?: StopSignal;
  }): Promise<Result<HttpResponse>>;
}
