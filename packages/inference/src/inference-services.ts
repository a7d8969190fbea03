import { DataDirFileStore } from './data-dir-file-store';
import { FILE_STORE_SERVICE, HTTP_CLIENT_SERVICE, LLM_BACKEND_SERVICE } from '@patchbay/engine';
import type { FileStore, HttpClient, LlmBackend, Logger } from '@patchbay/engine';
import { FetchHttpClient } from './fetch-http-client';
import { NodeLlamaBackend } from './node-llama-backend';

export interface InferenceServicesOptions {
  /** The folder `read-file` / `write-file` and model paths are confined to. */
  readonly dataDir: string;
  /** CPU threads for llama.cpp (default 1). Ignored when `llmBackend` is given. */
  readonly threads?: number;
  /** Replaces the node-llama-cpp backend (tests of hosts may pass a fake). */
  readonly llmBackend?: LlmBackend;
  readonly logger?: Logger;
}

/** The task-node services (X3) keyed as the engine looks them up; spread into `EngineServices`. */
// A type alias, not an interface, so it is assignable to `EngineServices`' index signature.
export type InferenceServices = {
  readonly [LLM_BACKEND_SERVICE]: LlmBackend;
  readonly [FILE_STORE_SERVICE]: FileStore;
  readonly [HTTP_CLIENT_SERVICE]: HttpClient;
};

/** The Node implementations of the task-node services for one host. */
export function createInferenceServices(options: InferenceServicesOptions): InferenceServices {
  const llmBackend =
    options.llmBackend ??
    new NodeLlamaBackend({
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  return {
    [LLM_BACKEND_SERVICE]: llmBackend,
    [FILE_STORE_SERVICE]: new DataDirFileStore(options.dataDir),
    [HTTP_CLIENT_SERVICE]: new FetchHttpClient(),
  };
}
