export { ErrorCode, PatchbayError, ok, err, problem, assertNever } from './errors';
export type { Problem, Result } from './errors';
export {
  StopReason,
  StopReasonSchema,
  NodeStatus,
  NODE_STATUSES,
  NodeStateSchema,
  canTransition,
  isTerminal,
  isRealized,
  describeState,
} from './node-state';
export type { NodeState } from './node-state';
export {
  PinType,
  PinTypeSchema,
  PinSpecSchema,
  ConnectionModeSchema,
  pinTypesCompatible,
  findPin,
  familyIndex,
} from './pins';
export type { PinSpec, ConnectionMode } from './pins';
export {
  NodeIdSchema,
  PinNameSchema,
  PositionSchema,
  PipelineModeSchema,
  PipelineNodeSchema,
  EndpointSchema,
  ConnectionSchema,
  PipelineSchema,
  connectionId,
  emptyPipeline,
} from './pipeline';
export type {
  Position,
  PipelineMode,
  PipelineNode,
  Endpoint,
  Connection,
  Pipeline,
} from './pipeline';
export {
  EditStampSchema,
  ConnectEndpointSchema,
  AddNodeOpSchema,
  RemoveNodeOpSchema,
  ConnectOpSchema,
  DisconnectOpSchema,
  TuneOpSchema,
  GraphOpSchema,
} from './ops';
export type {
  EditStamp,
  GraphOp,
  GraphOpInput,
  AddNodeOp,
  RemoveNodeOp,
  ConnectOp,
  DisconnectOp,
  TuneOp,
} from './ops';
