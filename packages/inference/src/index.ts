export { NodeLlamaBackend, DEFAULT_LLM_THREADS } from './node-llama-backend';
export type { NodeLlamaBackendOptions } from './node-llama-backend';
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
export { createStop } from './testing/stop-controller';
