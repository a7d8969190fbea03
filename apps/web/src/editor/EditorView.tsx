import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { addNode } from '@patchbay/document';
import type { Pipeline } from '@patchbay/protocol';
import { Suspense, lazy, useCallback, useEffect, useState } from 'react';
import { firstPaintView } from '../session/first-paint';
import type { Viewport } from '../session/first-paint';
import { useConnectionState, usePipeline } from '../session/hooks';
import { useSession } from '../session/session-context';
import { flowEdges, flowNodes } from './flow-elements';
import { GraphCanvas } from './GraphCanvas';
import { freePosition, freshNodeId } from './node-ids';
import { Palette } from './Palette';

// The side panes and the monitor panel are chunks of their own, loaded when first shown: the
// canvas draws without waiting for their code (the YAML pane brings the YAML library).
const Inspector = lazy(() => import('./Inspector').then((m) => ({ default: m.Inspector })));
const CompositorEditor = lazy(() =>
  import('../compositor/CompositorEditor').then((m) => ({ default: m.CompositorEditor })),
);
const YamlPane = lazy(() => import('../yaml/YamlPane').then((m) => ({ default: m.YamlPane })));
const MonitorView = lazy(() =>
  import('../monitor/MonitorView').then((m) => ({ default: m.MonitorView })),
);

const loading = <div className="empty">Loading…</div>;

type SideTab = 'inspector' | 'compositor' | 'yaml';

/** `/s/:id`: palette, canvas, inspector / compositor / YAML, and the monitor panel. */
export function EditorView() {
  const { conn, kinds, runtime, sessionId } = useSession();
  const pipeline = usePipeline(conn);
  // The server's first paint of this page fitted the canvas: open on the same viewport, and
  // with the canvas's size known, draw the nodes on screen in the first commit.
  const [view] = useState(() => firstPaintView(sessionId));
  // A document already synced (the page load's early connection) draws in React Flow's first
  // commit; otherwise the canvas's nodes arrive through its props as the document does.
  const [initial] = useState(() => {
    if (!conn.synced) return { nodes: [], edges: [] };
    const connections = Object.values(pipeline.connections);
    return {
      nodes: flowNodes({ pipeline, connections, kinds, runtime }),
      edges: flowEdges(connections),
    };
  });
  return (
    <ReactFlowProvider
      initialNodes={initial.nodes}
      initialEdges={initial.edges}
      {...(view ? { initialWidth: view.canvas.width, initialHeight: view.canvas.height } : {})}
    >
      <EditorLayout pipeline={pipeline} initialViewport={view?.viewport} />
    </ReactFlowProvider>
  );
}

function EditorLayout({
  pipeline,
  initialViewport,
}: {
  pipeline: Pipeline;
  initialViewport: Viewport | undefined;
}) {
  const { conn } = useSession();
  const flow = useReactFlow();
  const [selected, setSelected] = useState<string | undefined>();
  const [tab, setTab] = useState<SideTab>('inspector');
  const [monitorOpen, setMonitorOpen] = useState(false);
  const selectedKind = selected ? pipeline.nodes[selected]?.kind : undefined;

  const add = useCallback(
    (kind: string, at?: { x: number; y: number }) => {
      const id = freshNodeId(kind, new Set(Object.keys(pipeline.nodes)));
      const canvas = document.querySelector('[data-testid="canvas"]')?.getBoundingClientRect();
      const position =
        at ??
        (canvas
          ? flow.screenToFlowPosition({
              x: canvas.x + canvas.width / 2,
              y: canvas.y + canvas.height / 2,
            })
          : { x: 0, y: 0 });
      const taken = Object.values(pipeline.nodes).flatMap((n) => (n.position ? [n.position] : []));
      const place = freePosition(position, taken);
      conn.beginGesture();
      addNode(
        conn.doc,
        id,
        { kind, params: {}, position: place },
        {
          origin: conn.origin,
        },
      );
      setSelected(id);
    },
    [conn, flow, pipeline],
  );

  // A node someone else removed is no longer selected here.
  useEffect(() => {
    if (selected && !pipeline.nodes[selected]) setSelected(undefined);
  }, [pipeline, selected]);

  return (
    <div className={`editor${monitorOpen ? ' with-monitor' : ''}`}>
      <EditorToolbar monitorOpen={monitorOpen} onToggleMonitor={() => setMonitorOpen((v) => !v)} />
      <Palette onAdd={(k) => add(k)} />
      <GraphCanvas
        pipeline={pipeline}
        initialViewport={initialViewport}
        selected={selected}
        onSelect={setSelected}
        onAdd={add}
      />
      <aside className="side">
        <div className="side-tabs" role="tablist">
          {(['inspector', 'compositor', 'yaml'] as const).map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              aria-selected={tab === t}
              className={tab === t ? 'active' : ''}
              onClick={() => setTab(t)}
              data-testid={`side-tab-${t}`}
            >
              {t === 'yaml' ? 'YAML' : t[0]?.toUpperCase() + t.slice(1)}
            </button>
          ))}
        </div>
        <Suspense fallback={loading}>
          {tab === 'inspector' ? (
            selected ? (
              <Inspector
                pipeline={pipeline}
                nodeId={selected}
                onDeleted={() => setSelected(undefined)}
              />
            ) : (
              <div className="empty">Select a node to edit its params.</div>
            )
          ) : null}
          {tab === 'compositor' ? (
            <CompositorEditor
              pipeline={pipeline}
              nodeId={selectedKind === 'video::compositor' ? selected : undefined}
            />
          ) : null}
          {tab === 'yaml' ? <YamlPane pipeline={pipeline} /> : null}
        </Suspense>
      </aside>
      {monitorOpen ? (
        <section className="monitor-panel" data-testid="monitor-panel">
          <Suspense fallback={loading}>
            <MonitorView />
          </Suspense>
        </section>
      ) : null}
    </div>
  );
}

function EditorToolbar(props: { monitorOpen: boolean; onToggleMonitor: () => void }) {
  const { conn } = useSession();
  const { canUndo, canRedo } = useConnectionState(conn);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (
        target &&
        (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT')
      )
        return;
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== 'z') {
        if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'y') {
          e.preventDefault();
          conn.undo.redo();
        }
        return;
      }
      e.preventDefault();
      if (e.shiftKey) conn.undo.redo();
      else conn.undo.undo();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [conn]);
  return (
    <div className="editor-toolbar">
      <button
        type="button"
        disabled={!canUndo}
        onClick={() => conn.undo.undo()}
        data-testid="undo"
        title="Undo your last edit (Ctrl+Z)"
      >
        Undo
      </button>
      <button
        type="button"
        disabled={!canRedo}
        onClick={() => conn.undo.redo()}
        data-testid="redo"
        title="Redo (Ctrl+Shift+Z)"
      >
        Redo
      </button>
      <button
        type="button"
        onClick={props.onToggleMonitor}
        data-testid="toggle-monitor"
        aria-pressed={props.monitorOpen}
      >
        {props.monitorOpen ? 'Hide monitor' : 'Show monitor'}
      </button>
    </div>
  );
}
