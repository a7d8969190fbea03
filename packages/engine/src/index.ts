export {
  Engine,
  STATS_FLUSH_INTERVAL_MS,
  SHUTDOWN_TIMEOUT_MS,
  NODE_STATE_GAUGE,
  ILLEGAL_TRANSITIONS_COUNTER,
  PACKETS_DROPPED_COUNTER,
} from './engine';
export type { EngineEvent, EngineOptions, EnginePolicy, NodeSnapshot, OpResult } from './engine';
export { runOneshot, pipelineOps, describeStates, taskSinks } from './oneshot';
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
  PacketLease,
} from './packets';
export type { Clock, Logger, MetricsSink, ScriptWorker, WorkerSpawner } from './host';
export { silentLogger, nullMetrics } from './host';
export { createTimerClock } from './clock';
export type { TimerFunctions } from './clock';
export { Channel, DEFAULT_CHANNEL_CAPACITY, RAW_VIDEO_CHANNEL_CAPACITY } from './channel';
export { FramePool, FrameLease, releasePacket } from './frame-pool';
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
export { defineTaskNode, isTaskDefinition } from './tasks/task-api';
export type {
  TaskBehaviour,
  TaskContext,
  TaskInputs,
  TaskNodeDefinition,
  TaskNodeSpec,
  TaskOutputs,
  TaskResult,
} from './tasks/task-api';
export { CompositeExecutor, NOT_HANDLED, builtinExecutor } from './tasks/executor';
export type { TaskExecution, TaskExecutor, TaskRequest } from './tasks/executor';
export { wireOutput } from './tasks/demand-runner';
export type { RunEvent } from './tasks/demand-runner';
export { LlmGateway, gatewayFor } from './tasks/llm-gateway';
export type { LlmAcquireRequest, LlmLease } from './tasks/llm-gateway';
export { TASK_NODES } from './tasks/task-nodes';
export { DEFAULT_CONTEXT_SIZE, ModelDescriptorSchema } from './tasks/nodes/llm-nodes';
export type { ModelDescriptor } from './tasks/nodes/llm-nodes';
export {
  LLM_BACKEND_SERVICE,
  FILE_STORE_SERVICE,
  HTTP_CLIENT_SERVICE,
} from './tasks/task-services';
export type {
  FileStore,
  HttpClient,
  HttpResponse,
  LlmBackend,
  LlmGenerateRequest,
  LlmGeneration,
  LlmLoadRequest,
  LlmModelSettings,
  LoadedLlmModel,
} from './tasks/task-services';
