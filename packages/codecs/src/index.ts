export { registerCodecs, createCodecRegistry, codecKindsRegistry } from './register';
export {
  defineCodecNode,
  isCodecNode,
  finalizeCodecRun,
  CODEC_START_TIMEOUT_MS,
} from './codec-node';
export type { CodecChoice, CodecNodeSpec, CodecNodeOptions } from './codec-node';
export {
  runCodec,
  CodecOutcome,
  CODEC_IDLE_TIMEOUT_MS,
  CODEC_MAX_IN_FLIGHT,
  CODEC_WATCHDOG_POLL_MS,
} from './run-codec';
export type { CodecAdapter, CodecRunEnd, CodecRunCounts, RunCodecOptions } from './run-codec';
export { CodecHostKind, BaseCodecHost, CODEC_BATCH_FRAMES } from './codec-host';
export type {
  CodecData,
  CodecEnv,
  CodecEvent,
  CodecExit,
  CodecFactory,
  CodecFrame,
  CodecHost,
  CodecInfo,
  CodecInstance,
  CodecSpec,
  FactoryCodecSpec,
  RemoteHostOptions,
  ModuleCodecSpec,
} from './codec-host';
export { WorkerCodecHost } from './worker-codec-host';
export type { WorkerCodecHostOptions } from './worker-codec-host';
export { ProcessCodecHost } from './process-codec-host';
export type { ProcessCodecHostOptions } from './process-codec-host';
export { InlineCodecHost } from './inline-codec-host';
export { CodecError, CodecErrorCode } from './errors';
export {
  opusEncoderSpec,
  opusDecoderSpec,
  OpusEncoderParamsSchema,
  OpusDecoderParamsSchema,
  OPUS_ENCODER_CODEC,
  OPUS_DECODER_CODEC,
} from './opus/opus-nodes';
export type { OpusEncoderParams, OpusDecoderParams } from './opus/opus-nodes';
export { OPUS_SAMPLE_RATE, opusPacketSamples } from './opus/opus-packet';
export { oggMuxerSpec, OggMuxerParamsSchema } from './ogg/ogg-muxer-node';
export type { OggMuxerParams } from './ogg/ogg-muxer-node';
export { OggOpusWriter, createOggOpusMuxer, OPUS_DEFAULT_PRE_SKIP } from './ogg/ogg-opus-muxer';
export type { OggOpusOptions } from './ogg/ogg-opus-muxer';
export { nodeClock, nodeWorkerSpawner } from './node-host';
export {
  vp8EncoderSpec,
  vp8DecoderSpec,
  vp9EncoderSpec,
  vp9DecoderSpec,
  VpxEncoderParamsSchema,
  VpxDecoderParamsSchema,
  VIDEO_CODEC_MAX_IN_FLIGHT,
} from './vpx/vpx-nodes';
export type { VpxEncoderParams, VpxDecoderParams } from './vpx/vpx-nodes';
export { createVpxEncoder, createVpxDecoder } from './vpx/vpx-codec';
export type { VpxCodec, VpxDecoderInit, VpxEncoderInit } from './vpx/vpx-codec';
export { webmMuxerSpec, WebmMuxerParamsSchema } from './webm/webm-muxer-node';
export type { WebmMuxerParams } from './webm/webm-muxer-node';
export { createWebmMuxer } from './webm/webm-muxer';
export type { WebmMuxerOptions } from './webm/webm-muxer';
export { vp8KeyframeSize, vp9KeyframeSize, vpxKeyframeSize } from './webm/vpx-header';
