import type { AnyNodeDefinition } from '../registry';
import { fileReadNode, fileWriteNode } from './nodes/file-nodes';
import { conditionalNode, mergeNode } from './nodes/flow-nodes';
import { humanInputNode } from './nodes/human-input';
import { jsonFilterNode, jsonValidatorNode } from './nodes/json-nodes';
import { llmInferenceNode, llmModelNode, llmOpenAiNode, llmUnloadNode } from './nodes/llm-nodes';
import { textInputNode, textOutputNode, textTemplateNode } from './nodes/text-nodes';

/** Every built-in task node kind (X3). */
export const TASK_NODES: readonly AnyNodeDefinition[] = [
  textInputNode,
  textOutputNode,
  textTemplateNode,
  conditionalNode,
  mergeNode,
  jsonFilterNode,
  jsonValidatorNode,
  fileReadNode,
  fileWriteNode,
  llmModelNode,
  llmInferenceNode,
  llmOpenAiNode,
  llmUnloadNode,
  humanInputNode,
];
