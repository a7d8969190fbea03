import { removeNode } from '@patchbay/document';
import type { Pipeline } from '@patchbay/protocol';
import { useCallback, useMemo } from 'react';
import { writeParams } from '../session/edits';
import { useSession } from '../session/session-context';
import { StateDot } from '../monitor/StateDot';
import { SchemaField } from './SchemaField';
import { formFields } from './schema-form';

/** The selected node's params as a form generated from its kind's JSON Schema. */
export function Inspector(props: { pipeline: Pipeline; nodeId: string; onDeleted: () => void }) {
  const { conn, kinds, runtime } = useSession();
  const node = props.pipeline.nodes[props.nodeId];
  const info = node ? kinds.get(node.kind) : undefined;
  const fields = useMemo(
    () => (info ? formFields(info.paramsSchema, node?.params ?? {}) : []),
    [info, node?.params],
  );
  const write = useCallback(
    (path: readonly string[], value: unknown) => writeParams(conn, props.nodeId, [[path, value]]),
    [conn, props.nodeId],
  );
  const onGestureStart = useCallback(() => conn.beginGesture(), [conn]);
  if (!node) return <div className="inspector empty">Select a node.</div>;
  const state = runtime.states[props.nodeId];
  return (
    <div className="inspector" data-testid="inspector" data-node-id={props.nodeId}>
      <div className="inspector-head">
        <StateDot node={props.nodeId} state={state} />
        <h3>{props.nodeId}</h3>
        <button
          type="button"
          className="danger"
          data-testid="inspector-delete"
          onClick={() => {
            conn.beginGesture();
            removeNode(conn.doc, props.nodeId, { origin: conn.origin });
            props.onDeleted();
          }}
        >
          Delete
        </button>
      </div>
      <div className="muted">{node.kind}</div>
      {info?.description ? <p className="description">{info.description}</p> : null}
      {runtime.nodeErrors[props.nodeId] ? (
        <p className="error" data-testid="inspector-error">
          {runtime.nodeErrors[props.nodeId]}
        </p>
      ) : null}
      {info ? null : <p className="error">This server has no node kind {node.kind}.</p>}
      <form className="param-form" onSubmit={(e) => e.preventDefault()} data-testid="param-form">
        {fields.map((f) => (
          <SchemaField
            key={f.path.join('.')}
            field={f}
            params={node.params}
            write={write}
            onGestureStart={onGestureStart}
          />
        ))}
      </form>
    </div>
  );
}
