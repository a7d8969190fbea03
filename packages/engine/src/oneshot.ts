import { describeState, isTerminal } from '@patchbay/protocol';
import type { GraphOpInput, NodeState, Pipeline, Problem } from '@patchbay/protocol';
import { Engine } from './engine';
import type { EngineOptions } from './engine';
import type { OneshotIO } from './nodes/io/oneshot-io';
import { ONESHOT_IO_SERVICE } from './nodes/io/oneshot-io';
import type { RunEvent } from './tasks/demand-runner';
import { isTaskDefinition } from './tasks/task-api';

export interface OneshotOptions extends Omit<EngineOptions, 'mode'> {
  /** Binds `io::input` / `io::output`; omit for pipelines without them. */
  io?: OneshotIO;
  /** Called for every state change (progress for a CLI or an HTTP stream). */
  onState?: (node: string, state: NodeState) => void;
  /** Called for every event of the task runs (streamed tokens, node results, progress). */
  onRunEvent?: (event: RunEvent) => void;
}

/** How a oneshot run ended: every node's final state, and which failed. */
export type OneshotResult =
  | {
      ok: true;
      states: Record<string, NodeState>;
      stats: Record<string, Readonly<Record<string, number>>>;
      /** The output of each task node nothing else consumes (its demand run's result). */
      outputs: Record<string, unknown>;
    }
  | {
      ok: false;
      states: Record<string, NodeState>;
      stats: Record<string, Readonly<Record<string, number>>>;
      failed: Array<{ node: string; reason: string }>;
      problems: Problem[];
      outputs: Record<string, unknown>;
    };

/** The graph ops that build a pipeline: every add, then every connect (E15 batch). */
export function pipelineOps(p: Pipeline): GraphOpInput[] {
  const ops: GraphOpInput[] = [];
  for (const [id, n] of Object.entries(p.nodes))
    ops.push({ op: 'add_node', id, kind: n.kind, params: n.params });
  for (const key of Object.keys(p.connections).sort()) {
    const c = p.connections[key]!;
    ops.push({ op: 'connect', from: c.from, to: c.to, mode: c.mode });
  }
  return ops;
}

/** Task nodes whose outputs feed no other task node: what a oneshot run demands, in id order. */
export function taskSinks(pipeline: Pipeline, isTask: (kind: string) => boolean): string[] {
  const tasks = Object.keys(pipeline.nodes).filter((id) => isTask(pipeline.nodes[id]!.kind));
  const feeding = new Set(
    Object.values(pipeline.connections)
      .filter((c) => tasks.includes(c.to.node))
      .map((c) => c.from.node),
  );
  return tasks.filter((id) => !feeding.has(id)).sort();
}

/**
 * Builds a whole pipeline in a oneshot engine, runs it until every node has ended, and resolves
 * with every node's final state. Task nodes are computed by demanding each task sink in turn
 * (one after another, so shared upstream work is done once and reused from the cache). The first
 * failed node makes the run an error and stops the rest.
 */
export async function runOneshot(
  pipeline: Pipeline,
  options: OneshotOptions,
): Promise<OneshotResult> {
  const services = {
    ...options.services,
    ...(options.io ? { [ONESHOT_IO_SERVICE]: options.io } : {}),
  };
  const engine = new Engine({ ...options, mode: 'oneshot', services });
  const states: Record<string, NodeState> = {};
  const stats: Record<string, Readonly<Record<string, number>>> = {};
  const failed: Array<{ node: string; reason: string }> = [];
  const outputs: Record<string, unknown> = {};
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const isTask = (kind: string) => {
    const def = options.registry.get(kind);
    return def !== undefined && isTaskDefinition(def);
  };
  // Task nodes stay live between runs; the run is over when their demands are.
  const ids = Object.keys(pipeline.nodes).filter((id) => !isTask(pipeline.nodes[id]!.kind));
  const sinks = taskSinks(pipeline, isTask);
  let tasksDone = sinks.length === 0;
  const check = () => {
    if (
      failed.length > 0 ||
      (tasksDone && ids.every((id) => states[id] && isTerminal(states[id].status)))
    )
      resolveDone();
  };
  const runEnds = new Map<string, (e: RunEvent) => void>();
  const off = engine.subscribe((e) => {
    if ('run' in e) {
      options.onRunEvent?.(e);
      if (e.type === 'run_completed' || e.type === 'run_failed' || e.type === 'run_cancelled')
        runEnds.get(e.run)?.(e);
      return;
    }
    if (e.type !== 'node_state') return;
    states[e.node] = e.state;
    options.onState?.(e.node, e.state);
    if (e.state.status === 'failed') failed.push({ node: e.node, reason: e.state.reason });
    check();
  });
  try {
    const applied = await engine.applyBatch(pipelineOps(pipeline));
    if (!applied.ok)
      return { ok: false, states, stats, failed: [], problems: applied.error, outputs };
    check();
    if (sinks.length > 0) {
      void (async () => {
        for (const sink of sinks) {
          const end = await demandToEnd(engine, sink, runEnds);
          if (end.type === 'run_completed') {
            outputs[sink] = end.output;
            continue;
          }
          const reason =
            end.type === 'run_failed'
              ? `${end.reason}${end.code ? ` [${end.code}]` : ''}`
              : 'cancelled';
          failed.push({ node: end.type === 'run_failed' ? (end.node ?? sink) : sink, reason });
          break;
        }
        tasksDone = true;
        check();
      })();
    }
    await done;
    for (const n of engine.snapshot().nodes) stats[n.id] = n.stats;
  } finally {
    off();
    await engine.shutdown();
  }
  if (failed.length > 0) {
    return {
      ok: false,
      states,
      stats,
      outputs,
      failed,
      problems: failed.map((f) => ({
        code: 'run_failed',
        message: `node ${f.node} failed: ${f.reason}`,
        node: f.node,
      })),
    };
  }
  return { ok: true, states, stats, outputs };
}

/** Demands one node and resolves with its run's last event (a demand refused counts as failed). */
async function demandToEnd(
  engine: Engine,
  node: string,
  runEnds: Map<string, (e: RunEvent) => void>,
): Promise<RunEvent> {
  let resolveEnd!: (e: RunEvent) => void;
  const ended = new Promise<RunEvent>((r) => (resolveEnd = r));
  // Registered before the run can emit: its first event comes after `demand` answers.
  const demanded = await engine.demand(node);
  if (!demanded.ok) {
    return {
      type: 'run_failed',
      run: '',
      node,
      reason: demanded.error.message,
      code: demanded.error.code,
    };
  }
  runEnds.set(demanded.value.run, resolveEnd);
  const end = await ended;
  runEnds.delete(demanded.value.run);
  return end;
}

/** One line per node for logs and CLI output: `id: stopped{completed}`. */
export function describeStates(states: Record<string, NodeState>): string[] {
  return Object.keys(states)
    .sort()
    .map((id) => `${id}: ${describeState(states[id]!)}`);
}
