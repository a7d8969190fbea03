export { createInferenceServices } from './inference-services';
export type { InferenceServices, InferenceServicesOptions } from './inference-services';
export { NodeLlamaBackend, DEFAULT_LLM_THREADS } from './node-llama-backend';
export type { NodeLlamaBackendOptions } from './node-llama-backend';
export { DataDirFileStore } from './data-dir-file-store';
export { FetchHttpClient } from './fetch-http-client';
export { encodeGguf, toF16, GgmlTensorType, GGUF_ALIGNMENT } from './fixtures/gguf-writer';
export type { GgufTensor, GgufValue } from './fixtures/gguf-writer';
export {
  ensureModel,
  writePlantedModel,
  generatePlantedModel,
  plantedContinuation,
  plantedChatReply,
  defaultModelCacheDir,
  PLANTED_CHAIN,
  PLANTED_PRESETS,
  PLANTED_GENERATOR_VERSION,
} from './fixtures/planted-model';
export type {
  PlantedModelSpec,
  PlantedPreset,
  PlantedContinuation,
} from './fixtures/planted-model';
export { startOpenAiTestServer, OPENAI_TEST_MODEL } from './testing/openai-test-server';
export type {
  OpenAiTestServer,
  OpenAiTestServerOptions,
  OpenAiTestFault,
} from './testing/openai-test-server';
export { copyModelInto } from './testing/copy-model';
export { createStop } from './testing/stop-controller';
