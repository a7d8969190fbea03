export {
  Engine,
  STATS_FLUSH_INTERVAL_MS,
  SHUTDOWN_TIMEOUT_MS,
  NODE_STATE_GAUGE,
  ILLEGAL_TRANSITIONS_COUNTER,
  PACKETS_DROPPED_COUNTER,
} from './engine';
export type { EngineEvent, EngineOptions, EnginePolicy, NodeSnapshot, OpResult } from './engine';
export { runOneshot, pipelineOps, describeStates } from './oneshot';
export type { OneshotOptions, OneshotResult } from './oneshot';
export { NodeRegistry } from './registry';
export type { AnyNodeDefinition, NodeKindInfo } from './registry';
export { createDefaultRegistry } from './builtins';
export { defineNode, isSource } from './node-api';
export type {
  CreateContext,
  EngineServices,
  InputEvent,
  NodeDefinition,
  NodeInstance,
  NodePins,
  RunContext,
  StopSignal,
  ViewDataCause,
} from './node-api';
export type {
  Packet,
  AudioPacket,
  OpusPacket,
  VideoPacket,
  EncodedVideoPacket,
  TextPacket,
  JsonPacket,
  BinaryPacket,
} from './packets';
export type { Clock, Logger, MetricsSink, ScriptWorker, WorkerSpawner } from './host';
export { silentLogger, nullMetrics } from './host';
export { createTimerClock } from './clock';
export type { TimerFunctions } from './clock';
export { Channel, DEFAULT_CHANNEL_CAPACITY } from './channel';
export { ONESHOT_IO_SERVICE, utf8Encode } from './nodes/io/oneshot-io';
export {
  COMPOSITOR_KERNEL_SERVICE,
  COMPOSITOR_THREADS_SERVICE,
} from './nodes/video/compositor/compositor-node';
export type { OneshotIO } from './nodes/io/oneshot-io';
export { packetToBytes } from './nodes/io/io-nodes';
export { ManualClock, settle } from './testing/manual-clock';
export { RecordingMetrics } from './testing/recording-metrics';
export { pipelineOf, addCollector } from './testing/pipelines';
