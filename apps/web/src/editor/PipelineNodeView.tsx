import { Handle, Position } from '@xyflow/react';
import type { Node, NodeProps } from '@xyflow/react';
import type { PinHandle } from '@patchbay/document';
import type { NodeState } from '@patchbay/protocol';
import { memo } from 'react';
import { StateDot } from '../monitor/StateDot';

/** What the canvas draws for one pipeline node. */
export interface PipelineNodeData extends Record<string, unknown> {
  readonly kind: string;
  readonly known: boolean;
  readonly inputs: readonly PinHandle[];
  readonly outputs: readonly PinHandle[];
  readonly state?: NodeState;
  readonly error?: string;
  readonly stream?: string;
  /** Other users who selected or are dragging this node. */
  readonly peers: ReadonlyArray<{ name: string; color: string; dragging: boolean }>;
}

export type PipelineFlowNode = Node<PipelineNodeData, 'pipeline'>;

function PipelineNodeViewImpl(props: NodeProps<PipelineFlowNode>) {
  const { id, data, selected } = props;
  const ring = data.peers[0]?.color;
  return (
    <div
      className={`pb-node${selected ? ' selected' : ''}${data.error ? ' has-error' : ''}`}
      style={ring ? { boxShadow: `0 0 0 3px ${ring}` } : undefined}
      data-testid={`node-${id}`}
      data-node-id={id}
      data-kind={data.kind}
    >
      <div className="pb-node-head" data-testid={`node-title-${id}`}>
        <StateDot node={id} state={data.state} />
        <strong className="pb-node-id">{id}</strong>
      </div>
      <div className="pb-node-kind">
        {data.kind}
        {data.known ? null : <span className="tag danger">unknown kind</span>}
      </div>
      <div className="pb-node-pins">
        <div className="pins-in">
          {data.inputs.map((p) => (
            <div
              key={p.name}
              className={`pin-row${p.slot ? ' slot' : ''}`}
              title={`${p.name}: ${p.type}`}
            >
              <Handle
                type="target"
                position={Position.Left}
                id={p.name}
                className={`pin pin-${p.type}`}
                data-testid={`pin-${id}-in-${p.slot ? 'new' : p.name}`}
                data-pin={p.name}
                data-pin-type={p.type}
              />
              <span>{p.slot ? '+' : p.name}</span>
            </div>
          ))}
        </div>
        <div className="pins-out">
          {data.outputs.map((p) => (
            <div key={p.name} className="pin-row out" title={`${p.name}: ${p.type}`}>
              <span>{p.name}</span>
              <Handle
                type="source"
                position={Position.Right}
                id={p.name}
                className={`pin pin-${p.type}`}
                data-testid={`pin-${id}-out-${p.name}`}
                data-pin={p.name}
                data-pin-type={p.type}
              />
            </div>
          ))}
        </div>
      </div>
      {data.error ? (
        <div className="pb-node-error" data-testid={`node-error-${id}`} title={data.error}>
          {data.error}
        </div>
      ) : null}
      {data.stream !== undefined ? (
        <div className="pb-node-stream nodrag nowheel" data-testid={`node-stream-${id}`}>
          {data.stream}
        </div>
      ) : null}
      {data.peers.map((p) => (
        <div
          key={p.name}
          className="pb-node-peer"
          style={{ color: p.color }}
          data-testid="node-peer"
        >
          {p.name}
          {p.dragging ? ' is moving this' : ''}
        </div>
      ))}
    </div>
  );
}

export const PipelineNodeView = memo(PipelineNodeViewImpl);
