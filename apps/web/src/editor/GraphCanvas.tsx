import { Background, Controls, ReactFlow, ViewportPortal, useReactFlow } from '@xyflow/react';
import type {
  Connection as FlowConnection,
  Edge,
  NodeChange,
  OnSelectionChangeParams,
} from '@xyflow/react';
import { connect, disconnect, removeNode, setPosition } from '@patchbay/document';
import type { Connection, Pipeline } from '@patchbay/protocol';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { CommitThrottle } from '../compositor/commit-throttle';
import { dismissFirstPaint, useDismissFirstPaintWhen } from '../session/first-paint';
import type { Viewport } from '../session/first-paint';
import { useConnectionState, usePeers } from '../session/hooks';
import { useSession } from '../session/session-context';
import { showToast } from '../ui/toasts';
import { flowEdges, flowNodes } from './flow-elements';
import type { PeerMark } from './flow-elements';
import { PALETTE_DRAG_TYPE } from './Palette';
import { PipelineNodeView } from './PipelineNodeView';
import type { PipelineFlowNode } from './PipelineNodeView';
import { connectionRefusal } from './pins';

const nodeTypes = { pipeline: PipelineNodeView };
/**
 * Fitting the view counts every node at its expected size: the nodes off screen have not been
 * drawn, so React Flow has not measured them (it counts only measured nodes otherwise).
 */
const FIT_VIEW = { maxZoom: 1, includeHiddenNodes: true };
/** Pointer positions sent to others at most this often. */
const CURSOR_INTERVAL_MS = 50;
/** Whether two renderings of a node draw the same thing (the data is small plain JSON). */
function sameNode(a: PipelineFlowNode, b: PipelineFlowNode): boolean {
  return (
    a.selected === b.selected &&
    a.position.x === b.position.x &&
    a.position.y === b.position.y &&
    a.measured?.width === b.measured?.width &&
    a.measured?.height === b.measured?.height &&
    JSON.stringify(a.data) === JSON.stringify(b.data)
  );
}

/** The React Flow canvas bound to the shared document. */
export function GraphCanvas(props: {
  pipeline: Pipeline;
  /** Where the canvas opens (the server's first paint fitted it); otherwise it fits the graph. */
  initialViewport?: Viewport | undefined;
  selected: string | undefined;
  onSelect: (id: string | undefined) => void;
  onAdd: (kind: string, at?: { x: number; y: number }) => void;
}) {
  const { conn, kinds, runtime, sessionId } = useSession();
  const { pipeline } = props;
  const flow = useReactFlow();
  const { synced } = useConnectionState(conn);
  const canvasRef = useRef<HTMLDivElement>(null);

  // The server's first paint stays over the page until this canvas has drawn every node of the
  // synced document, and goes when the canvas does (another view, another session).
  const nodeCount = Object.keys(pipeline.nodes).length;
  const drawn = useCallback(
    () =>
      nodeCount === 0 || (canvasRef.current?.querySelectorAll('.react-flow__node').length ?? 0) > 0,
    [nodeCount],
  );
  useDismissFirstPaintWhen(sessionId, synced, drawn);
  useEffect(() => dismissFirstPaint, []);
  const peers = usePeers(conn);
  const connections = useMemo(() => Object.values(pipeline.connections), [pipeline]);

  // Where nodes are drawn while this tab drags them (the document gets throttled commits).
  const [dragging, setDragging] = useState<Record<string, { x: number; y: number }>>({});
  // The same positions, readable at drag stop without a state updater (updaters must stay pure).
  const draggingRef = useRef<Record<string, { x: number; y: number }>>({});
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const dragThrottle = useRef<CommitThrottle<Record<string, { x: number; y: number }>>>(undefined);

  const peerInfo = useMemo(() => {
    const byNode = new Map<string, PeerMark[]>();
    for (const p of peers.values()) {
      if (!p.user) continue;
      const add = (node: string, isDragging: boolean) => {
        const list = byNode.get(node) ?? [];
        if (!list.some((x) => x.name === p.user?.name))
          list.push({
            name: p.user?.name ?? '',
            color: p.user?.color ?? '#888',
            dragging: isDragging,
          });
        byNode.set(node, list);
      };
      if (p.dragging) add(p.dragging.node, true);
      for (const n of p.selection ?? []) add(n, false);
    }
    return byNode;
  }, [peers]);

  const previousNodes = useRef(new Map<string, PipelineFlowNode>());
  const nodes: PipelineFlowNode[] = useMemo(
    () =>
      flowNodes({
        pipeline,
        connections,
        kinds,
        runtime,
        peers: peerInfo,
        dragging,
        measured,
        selected: props.selected,
      }).map((next) => {
        // An unchanged node keeps its object, so React Flow and the memoised view skip it.
        const prev = previousNodes.current.get(next.id);
        return prev && sameNode(prev, next) ? prev : next;
      }),
    [pipeline, connections, kinds, runtime, peerInfo, dragging, measured, props.selected],
  );
  previousNodes.current = new Map(nodes.map((n) => [n.id, n]));

  const edges: Edge[] = useMemo(() => flowEdges(connections), [connections]);

  const refusalOf = useCallback(
    (c: FlowConnection | Edge): string | undefined => {
      const fromNode = pipeline.nodes[c.source];
      const toNode = pipeline.nodes[c.target];
      const fromInfo = fromNode ? kinds.get(fromNode.kind) : undefined;
      const toInfo = toNode ? kinds.get(toNode.kind) : undefined;
      if (!fromInfo || !toInfo) return 'unknown node kind';
      return connectionRefusal(
        { node: c.source, pin: c.sourceHandle ?? 'out', outputs: fromInfo.outputs },
        { node: c.target, pin: c.targetHandle ?? 'in', inputs: toInfo.inputs },
        connections,
      );
    },
    [pipeline, kinds, connections],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<PipelineFlowNode>[]) => {
      const moves: Record<string, { x: number; y: number }> = {};
      const sizes: Record<string, { width: number; height: number }> = {};
      let picked: string | undefined;
      let dropped = false;
      for (const ch of changes) {
        if (ch.type === 'position' && ch.position && ch.dragging)
          moves[ch.id] = { x: Math.round(ch.position.x), y: Math.round(ch.position.y) };
        if (ch.type === 'select' && ch.selected) picked = ch.id;
        if (ch.type === 'select' && !ch.selected && ch.id === props.selected) dropped = true;
        if (ch.type === 'dimensions' && ch.dimensions) sizes[ch.id] = ch.dimensions;
      }
      if (picked !== undefined) props.onSelect(picked);
      else if (dropped) props.onSelect(undefined);
      if (Object.keys(moves).length > 0) {
        draggingRef.current = { ...draggingRef.current, ...moves };
        setDragging(draggingRef.current);
        dragThrottle.current?.push({ ...moves });
      }
      if (Object.keys(sizes).length > 0) setMeasured((m) => ({ ...m, ...sizes }));
      // Removal goes through onNodesDelete (one transaction); the document is the node list.
    },
    [props],
  );

  const onNodeDragStart = useCallback(
    (_e: unknown, node: PipelineFlowNode) => {
      conn.beginGesture();
      conn.setPresence('dragging', { node: node.id });
      dragThrottle.current = new CommitThrottle((moves) => {
        conn.doc.transact(() => {
          for (const [id, pos] of Object.entries(moves))
            setPosition(conn.doc, id, pos, { origin: conn.origin });
        }, conn.origin);
      });
    },
    [conn],
  );

  const onNodeDragStop = useCallback(() => {
    dragThrottle.current?.end();
    dragThrottle.current = undefined;
    // Commit the final positions of everything this drag moved, then draw from the document.
    const moved = draggingRef.current;
    conn.doc.transact(() => {
      for (const [id, pos] of Object.entries(moved))
        setPosition(conn.doc, id, pos, { origin: conn.origin });
    }, conn.origin);
    draggingRef.current = {};
    setDragging({});
    conn.setPresence('dragging', null);
  }, [conn]);

  const onConnect = useCallback(
    (c: FlowConnection) => {
      const why = refusalOf(c);
      if (why) {
        showToast('error', why, 'pin_type_mismatch');
        return;
      }
      conn.beginGesture();
      const connection: Connection = {
        from: { node: c.source, pin: c.sourceHandle ?? 'out' },
        to: { node: c.target, pin: c.targetHandle ?? 'in' },
        mode: 'reliable',
      };
      connect(conn.doc, connection, { origin: conn.origin });
    },
    [conn, refusalOf],
  );

  const lastRefusal = useRef<string | undefined>(undefined);
  const isValidConnection = useCallback(
    (c: FlowConnection | Edge) => {
      const why = refusalOf(c);
      lastRefusal.current = why;
      return why === undefined;
    },
    [refusalOf],
  );

  const onConnectEnd = useCallback(() => {
    if (lastRefusal.current) showToast('error', lastRefusal.current, 'pin_type_mismatch');
    lastRefusal.current = undefined;
  }, []);

  const onNodesDelete = useCallback(
    (deleted: PipelineFlowNode[]) => {
      conn.beginGesture();
      conn.doc.transact(() => {
        for (const n of deleted) removeNode(conn.doc, n.id, { origin: conn.origin });
      }, conn.origin);
      props.onSelect(undefined);
    },
    [conn, props],
  );

  const onEdgesDelete = useCallback(
    (deleted: Edge[]) => {
      conn.beginGesture();
      conn.doc.transact(() => {
        for (const e of deleted) {
          disconnect(
            conn.doc,
            {
              from: { node: e.source, pin: e.sourceHandle ?? 'out' },
              to: { node: e.target, pin: e.targetHandle ?? 'in' },
            },
            { origin: conn.origin },
          );
        }
      }, conn.origin);
    },
    [conn],
  );

  // React Flow reports the selection on every node update; publish it only when it changes.
  const lastSelection = useRef('');
  const onSelectionChange = useCallback(
    ({ nodes: sel }: OnSelectionChangeParams) => {
      const ids = sel.map((n) => n.id).sort();
      const key = ids.join('\n');
      if (key === lastSelection.current) return;
      lastSelection.current = key;
      conn.setPresence('selection', ids);
    },
    [conn],
  );

  const lastCursor = useRef(0);
  const onPointerMove = useCallback(
    (e: React.PointerEvent) => {
      const now = performance.now();
      if (now - lastCursor.current < CURSOR_INTERVAL_MS) return;
      lastCursor.current = now;
      conn.setPresence('cursor', flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
    },
    [conn, flow],
  );

  useEffect(() => () => conn.setPresence('cursor', null), [conn]);

  return (
    <div
      ref={canvasRef}
      className="canvas"
      data-testid="canvas"
      onPointerMove={onPointerMove}
      onPointerLeave={() => conn.setPresence('cursor', null)}
      onPointerDownCapture={() => conn.beginGesture()}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes(PALETTE_DRAG_TYPE)) {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
        }
      }}
      onDrop={(e) => {
        const kind = e.dataTransfer.getData(PALETTE_DRAG_TYPE);
        if (!kind) return;
        e.preventDefault();
        props.onAdd(kind, flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
      }}
    >
      <ReactFlow<PipelineFlowNode, Edge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onNodeDragStart={onNodeDragStart}
        onNodeDragStop={onNodeDragStop}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onNodesDelete={onNodesDelete}
        onEdgesDelete={onEdgesDelete}
        onSelectionChange={onSelectionChange}
        onPaneClick={() => props.onSelect(undefined)}
        deleteKeyCode={['Backspace', 'Delete']}
        onlyRenderVisibleElements
        {...(props.initialViewport
          ? { defaultViewport: props.initialViewport }
          : { fitView: true, fitViewOptions: FIT_VIEW })}
        colorMode="dark"
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls fitViewOptions={FIT_VIEW} />
        <ViewportPortal>
          {[...peers.entries()].map(([id, p]) =>
            p.cursor && p.user ? (
              <div
                key={id}
                className="peer-cursor"
                style={{
                  transform: `translate(${p.cursor.x}px, ${p.cursor.y}px)`,
                  color: p.user.color,
                }}
                data-testid="peer-cursor"
                data-user={p.user.name}
              >
                ▲ <span>{p.user.name}</span>
              </div>
            ) : null,
          )}
        </ViewportPortal>
      </ReactFlow>
    </div>
  );
}
