import type { Pipeline } from '@patchbay/protocol';

/** An imported pipeline keeps the canvas positions of nodes that already exist (YAML has none). */
export function keepPositions(imported: Pipeline, current: Pipeline): Pipeline {
  const nodes: Pipeline['nodes'] = {};
  for (const [id, node] of Object.entries(imported.nodes)) {
    const position = node.position ?? current.nodes[id]?.position;
    nodes[id] = position ? { ...node, position } : node;
  }
  return { ...imported, nodes };
}
