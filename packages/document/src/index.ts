export {
  NODES_KEY,
  CONNECTIONS_KEY,
  META_KEY,
  KIND_KEY,
  PARAMS_KEY,
  POSITION_KEY,
  documentMaps,
  toYValue,
  fromYValue,
  readNode,
  readConnection,
  readPipeline,
  readPipelineChecked,
  readPipelineMeta,
  sameValue,
  createNodeMap,
  patchMap,
  writePipeline,
  plainConnection,
} from './model';
export type { DocumentProblem } from './model';
export {
  addNode,
  removeNode,
  setParam,
  setParams,
  setPosition,
  nodeKind,
  connect,
  disconnect,
  setMeta,
} from './edits';
export type { EditOptions } from './edits';
export { stampsOfEvents, storedStamps, sweepStamps } from './stamps';
export {
  autoLayout,
  expectedHandles,
  expectedPinAnchor,
  inputHandles,
  layOutNodes,
  nextFamilyMember,
  outputHandles,
} from './layout';
export type { ExpectedHandle, LaidOutNode, PinHandle } from './layout';
