import { gainNode } from './nodes/audio/gain';
import { mixerNode } from './nodes/audio/mixer';
import { silenceNode } from './nodes/audio/silence';
import { sineNode } from './nodes/audio/sine';
import { passthroughNode } from './nodes/core/passthrough';
import { sinkNode } from './nodes/core/sink';
import { inputNode, outputNode } from './nodes/io/io-nodes';
import { colorbarsNode } from './nodes/video/colorbars';
import { compositorNode } from './nodes/video/compositor/compositor-node';
import { NodeRegistry } from './registry';
import { TASK_NODES } from './tasks/task-nodes';

/** The engine's own node kinds (streaming and task nodes), with StreamKit's names as aliases. */
export function createDefaultRegistry(): NodeRegistry {
  const registry = new NodeRegistry();
  for (const def of TASK_NODES) registry.register(def);
  return registry
    .register(sineNode)
    .register(silenceNode)
    .register(gainNode)
    .register(mixerNode)
    .register(passthroughNode)
    .register(sinkNode)
    .register(colorbarsNode)
    .register(compositorNode)
    .register(inputNode)
    .register(outputNode)
    .alias('streamkit::http_input', 'io::input')
    .alias('streamkit::http_output', 'io::output');
}
