import { NODE_STATUSES } from '@patchbay/protocol';
import { useState } from 'react';
import { CompositorPreview } from '../compositor/CompositorPreview';
import { usePipeline } from '../session/hooks';
import { useSession } from '../session/session-context';
import { showToast } from '../ui/toasts';
import type { RunInfo } from './runtime-state';
import { Sparkline } from './Sparkline';
import { StateDot } from './StateDot';

/** `/s/:id/monitor` (and the editor's panel): every node's state, stats, runs and output. */
export function MonitorView(props: { full?: boolean }) {
  const { conn, runtime, kinds } = useSession();
  const pipeline = usePipeline(conn);
  const ids = [...new Set([...Object.keys(pipeline.nodes), ...Object.keys(runtime.states)])].sort();
  return (
    <div className={`monitor${props.full ? ' full' : ''}`} data-testid="monitor">
      <StateLegend />
      {ids.length === 0 ? <p className="muted">This session has no nodes yet.</p> : null}
      <div className="monitor-grid">
        {ids.map((id) => {
          const kind = pipeline.nodes[id]?.kind ?? '';
          return (
            <NodeCard
              key={id}
              id={id}
              kind={kind}
              task={kinds.get(kind)?.task === true}
              compositor={kind === 'video::compositor'}
            />
          );
        })}
      </div>
    </div>
  );
}

function StateLegend() {
  return (
    <div className="legend" data-testid="state-legend">
      {NODE_STATUSES.map((s) => (
        <span key={s} className="legend-item">
          <span className={`state-dot state-${s}`} data-state={s} /> {s}
        </span>
      ))}
    </div>
  );
}

function NodeCard(props: { id: string; kind: string; task: boolean; compositor: boolean }) {
  const { runtime } = useSession();
  const state = runtime.states[props.id];
  const stats = runtime.stats[props.id] ?? {};
  const runId = runtime.latestRun[props.id];
  const run = runId ? runtime.runs[runId] : undefined;
  const stream = runtime.streams[props.id];
  const error = runtime.nodeErrors[props.id];
  return (
    <div className="monitor-card" data-testid={`monitor-node-${props.id}`} data-node-id={props.id}>
      <div className="monitor-card-head">
        <StateDot node={props.id} state={state} />
        <strong>{props.id}</strong>
        <span className="muted">{props.kind}</span>
        <span className="state-text" data-testid={`monitor-state-${props.id}`}>
          {state ? state.status : 'no state yet'}
          {state && 'reason' in state ? ` (${state.reason})` : ''}
        </span>
      </div>
      {error ? <div className="error">{error}</div> : null}
      {Object.keys(stats).length > 0 ? (
        <table className="stats" data-testid={`monitor-stats-${props.id}`}>
          <tbody>
            {Object.entries(stats).map(([name, values]) => (
              <tr key={name} data-stat={name}>
                <td>{name}</td>
                <td className="num">{formatNumber(values[values.length - 1])}</td>
                <td>
                  <Sparkline values={values} label={name} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {props.task ? <RunControls node={props.id} run={run} /> : null}
      {stream ? (
        <pre className="stream" data-testid={`monitor-stream-${props.id}`}>
          {stream.text}
        </pre>
      ) : null}
      {props.compositor ? <CompositorPreview nodeId={props.id} /> : null}
    </div>
  );
}

function formatNumber(v: number | undefined): string {
  if (v === undefined) return '';
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** Demand / cancel a run of a task node (X5), with per-node progress (model loading, X4). */
function RunControls(props: { node: string; run: RunInfo | undefined }) {
  const { control, sessionId } = useSession();
  const { run } = props;
  const running = run?.status === 'running';
  const demand = async () => {
    const r = await control.request({ type: 'demand', session: sessionId, node: props.node });
    if (!r.ok) showToast('error', r.error.message, r.error.code);
  };
  const cancel = async () => {
    if (!run) return;
    const r = await control.request({ type: 'cancel', session: sessionId, run: run.id });
    if (!r.ok) showToast('error', r.error.message, r.error.code);
  };
  return (
    <div className="run-controls" data-testid={`run-controls-${props.node}`}>
      <button
        type="button"
        className="primary"
        disabled={running}
        onClick={() => void demand()}
        data-testid={`run-demand-${props.node}`}
      >
        Run
      </button>
      <button
        type="button"
        disabled={!running}
        onClick={() => void cancel()}
        data-testid={`run-cancel-${props.node}`}
      >
        Cancel
      </button>
      {run ? (
        <span
          className={`run-status run-${run.status}`}
          data-testid={`run-status-${props.node}`}
          data-status={run.status}
        >
          {run.status}
          {run.reason ? `: ${run.reason}` : ''}
        </span>
      ) : null}
      {run
        ? Object.entries(run.nodes).map(([node, info]) => (
            <div
              key={node}
              className="run-node"
              data-testid={`run-node-${node}`}
              data-status={info.status}
            >
              <span>
                {node}: {info.status}
                {info.cached ? ' (cached)' : ''}
              </span>
              {info.progress ? (
                <progress
                  value={info.progress.fraction}
                  max={1}
                  title={info.progress.label}
                  data-testid={`run-progress-${node}`}
                />
              ) : null}
              {info.status === 'waiting' && run.status === 'running' ? (
                <AnswerBox run={run.id} node={node} prompt={info.prompt ?? ''} />
              ) : null}
            </div>
          ))
        : null}
      {run?.status === 'completed' && run.output !== undefined ? (
        <pre className="run-output" data-testid={`run-output-${props.node}`}>
          {typeof run.output === 'string' ? run.output : JSON.stringify(run.output, null, 2)}
        </pre>
      ) : null}
    </div>
  );
}

/** Answer a waiting `human::input` node of a run. */
function AnswerBox(props: { run: string; node: string; prompt: string }) {
  const { control, sessionId } = useSession();
  const [text, setText] = useState('');
  const send = async () => {
    const r = await control.request({
      type: 'answer',
      session: sessionId,
      run: props.run,
      node: props.node,
      value: text,
    });
    if (!r.ok) showToast('error', r.error.message, r.error.code);
  };
  return (
    <div className="answer" data-testid={`answer-${props.node}`}>
      <span>{props.prompt}</span>
      <input value={text} onChange={(e) => setText(e.target.value)} />
      <button type="button" onClick={() => void send()}>
        Answer
      </button>
    </div>
  );
}
