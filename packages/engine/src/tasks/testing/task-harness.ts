import { z } from 'zod';
import { ok } from '@patchbay/protocol';
import type { GraphOpInput, Result } from '@patchbay/protocol';
import { createDefaultRegistry } from '../../builtins';
import { Engine } from '../../engine';
import type { EngineEvent, EngineOptions } from '../../engine';
import { ManualClock, settle } from '../../testing/manual-clock';
import type { RunEvent } from '../demand-runner';
import { defineTaskNode } from '../task-api';
import { LLM_BACKEND_SERVICE } from '../task-services';
import { FakeLlmBackend } from './fake-llm';

/** Counts executions per node id of the `test::count` kind. */
export type Executions = Map<string, number>;

/**
 * An engine with every built-in kind plus `test::count` (text in → `<label>(<inputs>)` out, every
 * execution counted), a manual clock, a fake LLM backend on it and an event log.
 */
export function taskEngine(options: Partial<EngineOptions> = {}) {
  const clock = new ManualClock();
  const backend = new FakeLlmBackend(clock);
  const registry = options.registry ?? createDefaultRegistry();
  const executions: Executions = new Map();
  if (!registry.get('test::count')) {
    registry.register(
      defineTaskNode({
        kind: 'test::count',
        description: 'counts its executions',
        params: z.object({ label: z.string().default('x') }),
        pins: () => ({
          inputs: [{ name: 'in_', type: 'any', family: true }],
          outputs: [{ name: 'out', type: 'text' }],
        }),
        execute: (inputs, ctx) => {
          executions.set(ctx.nodeId, (executions.get(ctx.nodeId) ?? 0) + 1);
          const parts = Object.keys(inputs)
            .sort()
            .map((k) => String(inputs[k]));
          return ok({ out: `${ctx.params.label}(${parts.join(',')})` });
        },
      }),
    );
  }
  const engine = new Engine({
    clock,
    session: 's1',
    ...options,
    services: { [LLM_BACKEND_SERVICE]: backend, ...options.services },
    registry,
  });
  const events: EngineEvent[] = [];
  engine.subscribe((e) => events.push(e));

  /** Run events of one run, in order. */
  const runEvents = (run: string): RunEvent[] =>
    events.filter((e): e is RunEvent => 'run' in e && e.run === run);

  const ended = (run: string) =>
    runEvents(run).find(
      (e) => e.type === 'run_completed' || e.type === 'run_failed' || e.type === 'run_cancelled',
    );

  /** Applies ops (all-or-nothing) and lets every node come up. */
  async function build(ops: GraphOpInput[]): Promise<void> {
    const r = await engine.applyBatch(ops);
    if (!r.ok) throw new Error(`batch refused: ${JSON.stringify(r.error)}`);
    await settle();
  }

  /** Demands a node and waits (moving the clock) until its run ends; returns the last event. */
  async function demandAndWait(node: string, stepMs = 1): Promise<{ run: string; end: RunEvent }> {
    const run = value(await engine.demand(node)).run;
    const end = await waitEnd(run, stepMs);
    return { run, end };
  }

  async function waitEnd(run: string, stepMs = 1): Promise<RunEvent> {
    await until(() => ended(run) !== undefined, clock, stepMs);
    return ended(run)!;
  }

  /** Node ids with the given run event type, in order. */
  const nodesWith = (run: string, type: RunEvent['type']) =>
    runEvents(run)
      .filter((e) => e.type === type)
      .map((e) => ('node' in e ? e.node : ''));

  return {
    engine,
    clock,
    /** The fake LLM backend (on this clock) the engine's services hold unless overridden. */
    backend,
    events,
    executions,
    registry,
    runEvents,
    build,
    demandAndWait,
    waitEnd,
    nodesWith,
  };
}

/** Waits until `cond` holds, moving the clock `stepMs` at a time; fails after `limit` steps. */
export async function until(
  cond: () => boolean,
  clock: ManualClock,
  stepMs = 1,
  limit = 2000,
): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (cond()) return;
    await clock.advance(stepMs);
  }
  if (!cond()) throw new Error('condition not reached');
}

export function value<T>(r: Result<T, unknown>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

export function add(id: string, kind: string, params: Record<string, unknown> = {}): GraphOpInput {
  return { op: 'add_node', id, kind, params };
}

export function link(from: string, to: string, toPin?: string, fromPin = 'out'): GraphOpInput {
  return {
    op: 'connect',
    from: { node: from, pin: fromPin },
    to: toPin === undefined ? { node: to } : { node: to, pin: toPin },
  };
}
