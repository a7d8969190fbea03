import { describeState, isTerminal } from '@patchbay/protocol';
import type { GraphOpInput, NodeState, Pipeline, Problem } from '@patchbay/protocol';
import { Engine } from './engine';
import type { EngineOptions } from './engine';
import type { OneshotIO } from './nodes/io/oneshot-io';
import { ONESHOT_IO_SERVICE } from './nodes/io/oneshot-io';

export interface OneshotOptions extends Omit<EngineOptions, 'mode'> {
  /** Binds `io::input` / `io::output`; omit for pipelines without them. */
  io?: OneshotIO;
  /** Called for every state change (progress for a CLI or an HTTP stream). */
  onState?: (node: string, state: NodeState) => void;
}

/** How a oneshot run ended: every node's final state, and which failed. */
export type OneshotResult =
  | {
      ok: true;
      states: Record<string, NodeState>;
      stats: Record<string, Readonly<Record<string, number>>>;
    }
  | {
      ok: false;
      states: Record<string, NodeState>;
      stats: Record<string, Readonly<Record<string, number>>>;
      failed: Array<{ node: string; reason: string }>;
      problems: Problem[];
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

/**
 * Builds a whole pipeline in a oneshot engine, runs it until every node has ended, and resolves
 * with every node's final state. The first failed node makes the run an error and stops the rest.
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
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const ids = Object.keys(pipeline.nodes);
  const check = () => {
    if (failed.length > 0 || ids.every((id) => states[id] && isTerminal(states[id].status)))
      resolveDone();
  };
  const off = engine.subscribe((e) => {
    if (e.type !== 'node_state') return;
    states[e.node] = e.state;
    options.onState?.(e.node, e.state);
    if (e.state.status === 'failed') failed.push({ node: e.node, reason: e.state.reason });
    check();
  });
  try {
    const applied = await engine.applyBatch(pipelineOps(pipeline));
    if (!applied.ok) return { ok: false, states, stats, failed: [], problems: applied.error };
    check();
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
      failed,
      problems: failed.map((f) => ({
        code: 'run_failed',
        message: `node ${f.node} failed: ${f.reason}`,
        node: f.node,
      })),
    };
  }
  return { ok: true, states, stats };
}

/** One line per node for logs and CLI output: `id: stopped{completed}`. */
export function describeStates(states: Record<string, NodeState>): string[] {
  return Object.keys(states)
    .sort()
    .map((id) => `${id}: ${describeState(states[id]!)}`);
}
