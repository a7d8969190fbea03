/**
 * The runtime picture of one session, folded from control events (never from the document):
 * node states (E1), stats with short histories for sparklines, view data, demand runs (X5) with
 * per-node progress and streamed text, and errors to show on nodes.
 */
import type { ControlEvent, NodeState, ViewStamp } from '@patchbay/protocol';

/** Points kept per stat for its sparkline. */
export const STAT_HISTORY = 60;
/** Streamed text kept per node (older text is cut from the front). */
export const STREAM_KEEP_CHARS = 20_000;

export interface NodeRunInfo {
  readonly status: 'running' | 'completed' | 'failed' | 'cancelled' | 'skipped' | 'waiting';
  readonly progress?: { readonly fraction: number; readonly label?: string };
  readonly reason?: string;
  readonly prompt?: string;
  readonly cached?: boolean;
}

export interface RunInfo {
  readonly id: string;
  readonly node: string;
  readonly status: 'running' | 'completed' | 'failed' | 'cancelled';
  readonly reason?: string;
  readonly output?: unknown;
  readonly nodes: Readonly<Record<string, NodeRunInfo>>;
}

export interface ViewDataEntry {
  readonly data: unknown;
  readonly stamp: ViewStamp;
}

export interface RuntimeState {
  readonly states: Readonly<Record<string, NodeState>>;
  readonly stats: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>>;
  readonly viewData: Readonly<Record<string, ViewDataEntry>>;
  /** The latest streamed text per node (from its latest run). */
  readonly streams: Readonly<Record<string, { readonly run: string; readonly text: string }>>;
  readonly runs: Readonly<Record<string, RunInfo>>;
  /** The latest run per demanded node. */
  readonly latestRun: Readonly<Record<string, string>>;
  /** Errors to show on a node (refused edits, failed runs). */
  readonly nodeErrors: Readonly<Record<string, string>>;
}

export const EMPTY_RUNTIME: RuntimeState = {
  states: {},
  stats: {},
  viewData: {},
  streams: {},
  runs: {},
  latestRun: {},
  nodeErrors: {},
};

/** Decides whether incoming view data may replace what is shown (S6 stale filter, S7 hold). */
export type ViewDataGate = (node: string, stamp: ViewStamp) => boolean;

function omit<T>(rec: Readonly<Record<string, T>>, key: string): Record<string, T> {
  if (!Object.hasOwn(rec, key)) return rec as Record<string, T>;
  const { [key]: _gone, ...rest } = rec;
  return rest;
}

function patchRun(
  s: RuntimeState,
  run: string,
  f: (r: RunInfo) => RunInfo,
): Readonly<Record<string, RunInfo>> {
  const r = s.runs[run];
  return r ? { ...s.runs, [run]: f(r) } : s.runs;
}

function patchNodeRun(s: RuntimeState, run: string, node: string, info: NodeRunInfo): RuntimeState {
  return { ...s, runs: patchRun(s, run, (r) => ({ ...r, nodes: { ...r.nodes, [node]: info } })) };
}

/** Fold one event of this session into the state (events of other sessions are ignored). */
export function applyEvent(
  s: RuntimeState,
  e: ControlEvent,
  session: string,
  accept: ViewDataGate = () => true,
): RuntimeState {
  if (e.session !== session) return s;
  switch (e.type) {
    case 'node_state': {
      const nodeErrors =
        e.state.status === 'failed'
          ? { ...s.nodeErrors, [e.node]: e.state.reason }
          : e.state.status === 'creating'
            ? omit(s.nodeErrors, e.node)
            : s.nodeErrors;
      return { ...s, states: { ...s.states, [e.node]: e.state }, nodeErrors };
    }
    case 'node_removed':
      return {
        ...s,
        states: omit(s.states, e.node),
        stats: omit(s.stats, e.node),
        viewData: omit(s.viewData, e.node),
        nodeErrors: omit(s.nodeErrors, e.node),
      };
    case 'node_stats': {
      const prev = s.stats[e.node] ?? {};
      const next: Record<string, readonly number[]> = {};
      for (const [name, value] of Object.entries(e.stats)) {
        const h = prev[name] ?? [];
        next[name] = [...h.slice(Math.max(0, h.length - STAT_HISTORY + 1)), value];
      }
      return { ...s, stats: { ...s.stats, [e.node]: { ...prev, ...next } } };
    }
    case 'node_view_data':
      if (!accept(e.node, e.stamp)) return s;
      return { ...s, viewData: { ...s.viewData, [e.node]: { data: e.data, stamp: e.stamp } } };
    case 'connection_removed':
      return {
        ...s,
        nodeErrors: { ...s.nodeErrors, [e.to.node]: `connection removed: ${e.reason}` },
      };
    case 'run_started':
      return {
        ...s,
        runs: { ...s.runs, [e.run]: { id: e.run, node: e.node, status: 'running', nodes: {} } },
        latestRun: { ...s.latestRun, [e.node]: e.run },
      };
    case 'run_completed':
      return {
        ...s,
        runs: patchRun(s, e.run, (r) => ({ ...r, status: 'completed', output: e.output })),
      };
    case 'run_failed': {
      const next = {
        ...s,
        runs: patchRun(s, e.run, (r) => ({ ...r, status: 'failed' as const, reason: e.reason })),
      };
      return e.node ? { ...next, nodeErrors: { ...s.nodeErrors, [e.node]: e.reason } } : next;
    }
    case 'run_cancelled':
      return { ...s, runs: patchRun(s, e.run, (r) => ({ ...r, status: 'cancelled' })) };
    case 'node_run_started': {
      const streams = s.streams[e.node]?.run === e.run ? s.streams : omit(s.streams, e.node);
      return {
        ...patchNodeRun(s, e.run, e.node, { status: 'running' }),
        streams,
        nodeErrors: omit(s.nodeErrors, e.node),
      };
    }
    case 'node_run_completed':
      return patchNodeRun(s, e.run, e.node, {
        status: 'completed',
        ...(e.cached !== undefined ? { cached: e.cached } : {}),
      });
    case 'node_run_failed':
      return {
        ...patchNodeRun(s, e.run, e.node, { status: 'failed', reason: e.reason }),
        nodeErrors: { ...s.nodeErrors, [e.node]: e.reason },
      };
    case 'node_run_cancelled':
      return patchNodeRun(s, e.run, e.node, { status: 'cancelled' });
    case 'node_run_skipped':
      return patchNodeRun(s, e.run, e.node, { status: 'skipped' });
    case 'node_run_progress':
      return patchNodeRun(s, e.run, e.node, {
        status: 'running',
        progress: { fraction: e.fraction, ...(e.label !== undefined ? { label: e.label } : {}) },
      });
    case 'node_run_waiting':
      return patchNodeRun(s, e.run, e.node, { status: 'waiting', prompt: e.prompt });
    case 'node_stream': {
      const prev = s.streams[e.node];
      const base = prev && prev.run === e.run ? prev.text : '';
      const text = (base + e.chunk).slice(-STREAM_KEEP_CHARS);
      return { ...s, streams: { ...s.streams, [e.node]: { run: e.run, text } } };
    }
    case 'session_created':
    case 'session_deleted':
      return s;
  }
}

/** Seed states from a `subscribe` result (the server's current states), keeping newer events. */
export function withStates(
  s: RuntimeState,
  states: Readonly<Record<string, NodeState>> | undefined,
): RuntimeState {
  if (!states) return s;
  return { ...s, states: { ...states, ...s.states } };
}
