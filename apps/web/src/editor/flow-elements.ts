/**
 * The canvas's React Flow nodes and edges, computed from the pipeline and the session's runtime.
 * One function for both uses: the canvas on every change, and the provider's initial nodes on
 * the first render (so a document that is already synced draws in the first commit).
 */
import { Position } from '@xyflow/react';
import type { Edge, NodeHandle } from '@xyflow/react';
import { expectedHandles, layOutNodes } from '@patchbay/document';
import type { LaidOutNode } from '@patchbay/document';
import { connectionId } from '@patchbay/protocol';
import type { Connection, Pipeline } from '@patchbay/protocol';
import type { NodeKindInfo } from '../api/catalog';
import type { RuntimeState } from '../monitor/runtime-state';
import type { PipelineFlowNode, PipelineNodeData } from './PipelineNodeView';

export interface PeerMark {
  readonly name: string;
  readonly color: string;
  readonly dragging: boolean;
}

export interface FlowNodesInput {
  readonly pipeline: Pipeline;
  readonly connections: readonly Connection[];
  readonly kinds: ReadonlyMap<string, NodeKindInfo>;
  readonly runtime: RuntimeState;
  /** Other people's selections and drags, by node. */
  readonly peers?: ReadonlyMap<string, PeerMark[]>;
  /** Where this tab is dragging nodes (ahead of the document). */
  readonly dragging?: Readonly<Record<string, { x: number; y: number }>>;
  readonly measured?: Readonly<Record<string, { width: number; height: number }>>;
  readonly selected?: string | undefined;
}

/** One React Flow node per pipeline node, in the document's order. */
export function flowNodes(input: FlowNodesInput): PipelineFlowNode[] {
  const { pipeline, connections, kinds, runtime } = input;
  return layOutNodes(pipeline, connections, kinds).map((laid) => {
    const { id } = laid;
    const stream = runtime.streams[id];
    const data: PipelineNodeData = {
      kind: laid.kind,
      known: laid.known,
      inputs: laid.inputs,
      outputs: laid.outputs,
      ...(runtime.states[id] ? { state: runtime.states[id] } : {}),
      ...(runtime.nodeErrors[id] ? { error: runtime.nodeErrors[id] } : {}),
      ...(stream ? { stream: stream.text } : {}),
      peers: input.peers?.get(id) ?? [],
    };
    const measured = input.measured?.[id];
    return {
      id,
      type: 'pipeline' as const,
      position: input.dragging?.[id] ?? laid.position,
      data,
      selected: input.selected === id,
      // With a size, React Flow draws nodes and fits the view in the first pass instead of
      // drawing them hidden to measure them first.
      initialWidth: laid.size.width,
      initialHeight: laid.size.height,
      // Drawn and measured: React Flow keeps the handles it measured. Not yet: where its pins
      // will be, so React Flow can end connections on a node it has not drawn and does not
      // have to draw every node once to measure it (only those on screen are drawn).
      ...(measured ? { measured } : { handles: handlesOf(laid) }),
    };
  });
}

function handlesOf(laid: LaidOutNode): NodeHandle[] {
  return expectedHandles(laid).map((h) => ({
    id: h.pin,
    type: h.side === 'in' ? 'target' : 'source',
    position: h.side === 'in' ? Position.Left : Position.Right,
    x: h.x,
    y: h.y,
    width: h.width,
    height: h.height,
  }));
}

/** One React Flow edge per connection. */
export function flowEdges(connections: readonly Connection[]): Edge[] {
  return connections.map((c) => ({
    id: connectionId(c),
    source: c.from.node,
    sourceHandle: c.from.pin,
    target: c.to.node,
    targetHandle: c.to.pin,
    ...(c.mode === 'best_effort' ? { animated: true } : {}),
    data: { mode: c.mode },
  }));
}
