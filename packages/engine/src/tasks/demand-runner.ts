import { err, familyIndex, findPin, ok, problem } from '@patchbay/protocol';
import type { Connection, ControlEventOf, PinType, Problem, Result } from '@patchbay/protocol';
import type { Clock, Logger } from '../host';
import type { EngineServices, NodePins } from '../node-api';
import type { AnyNodeDefinition } from '../registry';
import { createStopController } from '../stop-signal';
import type { StopController } from '../stop-signal';
import { unhandledResult } from './executor';
import type { TaskExecutor } from './executor';
import { isTaskDefinition } from './task-api';
import type { TaskContext, TaskOutputs, TaskResult } from './task-api';
import { hashValue } from './version-hash';

type RunEventType =
  | 'run_started'
  | 'run_completed'
  | 'run_failed'
  | 'run_cancelled'
  | 'node_run_started'
  | 'node_run_completed'
  | 'node_run_failed'
  | 'node_run_cancelled'
  | 'node_run_skipped'
  | 'node_run_progress'
  | 'node_run_waiting'
  | 'node_stream';

type WithoutSession<T> = T extends unknown ? Omit<T, 'session'> : never;

/** Demand-run events: the protocol's run events without the session a host adds (1:1, X5). */
export type RunEvent = WithoutSession<ControlEventOf<RunEventType>>;

/** The graph as it was when a run was demanded. */
export interface TaskGraph {
  readonly nodes: ReadonlyMap<string, TaskGraphNode>;
  readonly connections: readonly Connection[];
}

export interface TaskGraphNode {
  readonly id: string;
  readonly kind: string;
  readonly definition: AnyNodeDefinition;
  readonly params: Readonly<Record<string, unknown>>;
  readonly pins: NodePins;
}

export interface DemandRunnerOptions {
  readonly executor: TaskExecutor;
  readonly services: EngineServices;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly emit: (event: RunEvent) => void;
}

/** How one node of a run ended. */
type Evaluation =
  | { kind: 'done'; outputs: TaskOutputs; version: string }
  | { kind: 'skipped' }
  | { kind: 'failed' }
  | { kind: 'cancelled' };

interface RunState {
  readonly id: string;
  readonly root: string;
  readonly stop: StopController;
  readonly evaluations: Map<string, Promise<Evaluation>>;
  readonly waiting: Map<string, (answer: Result<unknown>) => void>;
  cancelled: boolean;
  failure: { node: string; problem: Problem } | undefined;
}

interface CacheEntry {
  readonly inputVersion: string;
  readonly outputs: TaskOutputs;
  readonly version: string;
}

/** Outputs kept per node, by input version (X6). */
export const CACHED_VERSIONS_PER_NODE = 4;

const CANCELLED: unique symbol = Symbol('cancelled');

/**
 * Demand runs (X5, X6): computes a task node and what it needs upstream, each node at most once
 * per run, upstream branches in parallel. Outputs are cached by input version (a hash of the
 * kind, params and upstream output versions), so an edit invalidates exactly the edited node and
 * what lies downstream of it. Every failure is a value reported as an event; nothing here throws
 * into the engine's loop.
 */
export class DemandRunner {
  readonly #options: DemandRunnerOptions;
  readonly #runs = new Map<string, RunState>();
  /** Per node, its latest outputs by input version (most recent last). */
  readonly #cache = new Map<string, Map<string, CacheEntry>>();
  /** Node executions not yet settled (a cancelled one may still be winding down). */
  readonly #executing = new Set<Promise<unknown>>();
  #counter = 0;

  constructor(options: DemandRunnerOptions) {
    this.#options = options;
  }

  /** Starts a run of `root` over `graph`; returns its id before any of its events. */
  start(graph: TaskGraph, root: string): string {
    const id = `run-${++this.#counter}`;
    const run: RunState = {
      id,
      root,
      stop: createStopController(),
      evaluations: new Map(),
      waiting: new Map(),
      cancelled: false,
      failure: undefined,
    };
    this.#runs.set(id, run);
    void this.#drive(run, graph);
    return id;
  }

  /** Stops a run at once: in-flight nodes see their signal fire and are reported cancelled. */
  cancel(runId: string): Result<void> {
    const run = this.#runs.get(runId);
    if (!run) return err(problem('not_found', `run ${runId} is not in flight`));
    run.cancelled = true;
    run.stop.stop();
    return ok(undefined);
  }

  /** Answers a `human::input` node that is waiting in a run. */
  answer(runId: string, nodeId: string, value: unknown): Result<void> {
    const run = this.#runs.get(runId);
    if (!run) return err(problem('not_found', `run ${runId} is not in flight`));
    const waiter = run.waiting.get(nodeId);
    if (!waiter) {
      return err(problem('not_found', `node ${nodeId} is not waiting for an answer in ${runId}`));
    }
    run.waiting.delete(nodeId);
    waiter(ok(value));
    return ok(undefined);
  }

  cancelAll(): void {
    for (const id of [...this.#runs.keys()]) this.cancel(id);
  }

  /** Drops a removed node's cached output. */
  forget(nodeId: string): void {
    this.#cache.delete(nodeId);
  }

  /** Whether any node execution has not settled yet. */
  get executing(): boolean {
    return this.#executing.size > 0;
  }

  /**
   * Resolves when every node execution has settled, including those of cancelled runs whose
   * work only stops when it next looks at its signal: after this, a host may free what they use.
   */
  async settled(): Promise<void> {
    while (this.#executing.size > 0) await Promise.all([...this.#executing]);
  }

  /** Ids of runs still in flight. */
  inFlight(): string[] {
    return [...this.#runs.keys()];
  }

  // ------------------------------------------------------------------------------------------

  async #drive(run: RunState, graph: TaskGraph): Promise<void> {
    // The caller gets the run id before the run's first event: let its continuation run first.
    await Promise.resolve();
    await Promise.resolve();
    await this.#options.clock.yieldToHost();
    const emit = this.#options.emit;
    emit({ type: 'run_started', run: run.id, node: run.root });
    let result: Evaluation;
    try {
      result = await this.#evaluate(run, graph, run.root, []);
    } catch (e) {
      // A bug in the runner itself: still a value for the client, never a loop crash.
      this.#options.logger.error({ err: e, run: run.id }, 'demand run crashed');
      run.failure ??= { node: run.root, problem: problem('internal', errorMessage(e), run.root) };
      result = { kind: 'failed' };
    }
    this.#runs.delete(run.id);
    for (const waiter of run.waiting.values()) waiter(err(problem('cancelled', 'run ended')));
    run.stop.stop();
    if (run.cancelled) {
      emit({ type: 'run_cancelled', run: run.id });
    } else if (run.failure) {
      const { node, problem: p } = run.failure;
      emit({ type: 'run_failed', run: run.id, node, code: p.code, reason: p.message });
    } else if (result.kind === 'done') {
      emit({ type: 'run_completed', run: run.id, output: wireOutput(result.outputs) });
    } else {
      // The demanded node sits on a pruned branch: the run completes with no output.
      emit({ type: 'run_completed', run: run.id });
    }
  }

  #evaluate(
    run: RunState,
    graph: TaskGraph,
    id: string,
    stack: readonly string[],
  ): Promise<Evaluation> {
    if (stack.includes(id)) {
      // Checked before the memo: a cycle would otherwise wait on its own evaluation forever.
      const loop = [...stack.slice(stack.indexOf(id)), id].join(' → ');
      return Promise.resolve(this.#fail(run, id, problem('cycle', `cycle: ${loop}`, id)));
    }
    const known = run.evaluations.get(id);
    if (known) return known;
    const evaluation = this.#compute(run, graph, id, [...stack, id]);
    run.evaluations.set(id, evaluation);
    return evaluation;
  }

  async #compute(
    run: RunState,
    graph: TaskGraph,
    id: string,
    stack: readonly string[],
  ): Promise<Evaluation> {
    const emit = this.#options.emit;
    const node = graph.nodes.get(id);
    if (!node) return this.#fail(run, id, problem('unknown_node', `node ${id} does not exist`, id));
    const def = node.definition;
    if (!isTaskDefinition(def)) {
      return this.#fail(
        run,
        id,
        problem(
          'bad_request',
          `node ${id} (${node.kind}) streams media; a demand run computes task nodes only`,
          id,
        ),
      );
    }
    const incoming = incomingOf(graph, node);
    const upstream = await Promise.all(
      incoming.map((c) => this.#evaluate(run, graph, c.from.node, stack)),
    );
    if (run.stop.signal.stopped) return { kind: 'cancelled' };
    if (upstream.some((u) => u.kind === 'failed')) return { kind: 'failed' };
    if (upstream.some((u) => u.kind === 'cancelled')) return { kind: 'cancelled' };

    const inputs: Record<string, unknown> = {};
    const inputTypes: Record<string, PinType> = {};
    const versions: unknown[] = [];
    let pruned = 0;
    incoming.forEach((c, i) => {
      const u = upstream[i]!;
      const live = u.kind === 'done' && Object.hasOwn(u.outputs, c.from.pin);
      if (!live) {
        pruned++;
        versions.push([c.to.pin, 'pruned']);
        return;
      }
      inputs[c.to.pin] = u.outputs[c.from.pin];
      const from = graph.nodes.get(c.from.node);
      inputTypes[c.to.pin] = (from && findPin(from.pins.outputs, c.from.pin)?.type) ?? 'any';
      versions.push([c.to.pin, c.from.node, c.from.pin, u.version]);
    });
    const skip = def.task.acceptsPruned
      ? incoming.length > 0 && pruned === incoming.length
      : pruned > 0;
    if (skip) {
      emit({ type: 'node_run_skipped', run: run.id, node: id });
      return { kind: 'skipped' };
    }

    const inputVersion = hashValue({ kind: node.kind, params: node.params, inputs: versions });
    const cached = this.#cache.get(id)?.get(inputVersion);
    if (def.task.cacheable && cached) {
      emit({
        type: 'node_run_completed',
        run: run.id,
        node: id,
        output: wireOutput(cached.outputs),
        cached: true,
      });
      return { kind: 'done', outputs: cached.outputs, version: cached.version };
    }

    emit({ type: 'node_run_started', run: run.id, node: id });
    const ctx = this.#context(run, node, [...new Set(incoming.map((c) => c.to.pin))], inputTypes);
    const request = { kind: node.kind, definition: def, inputs, ctx };
    const execution = Promise.resolve()
      .then(() => this.#options.executor.execute(request))
      .then(
        (outcome): TaskResult => (outcome.handled ? outcome.result : unhandledResult(request)),
        (e: unknown): TaskResult => err(problem('internal', errorMessage(e), id)),
      );
    this.#executing.add(execution);
    void execution.then(() => this.#executing.delete(execution));
    // X5: a cancel reports at once, even if the node's work only notices the signal later.
    const result = await Promise.race([
      execution,
      run.stop.signal.promise.then((): typeof CANCELLED => CANCELLED),
    ]);
    if (result === CANCELLED || run.stop.signal.stopped) {
      emit({ type: 'node_run_cancelled', run: run.id, node: id });
      return { kind: 'cancelled' };
    }
    if (!result.ok) {
      if (result.error.code === 'cancelled') {
        emit({ type: 'node_run_cancelled', run: run.id, node: id });
        return { kind: 'cancelled' };
      }
      return this.#fail(run, id, result.error);
    }
    const outputs = result.value;
    const version = def.task.cacheable ? inputVersion : `o${hashValue(outputs)}`;
    if (def.task.cacheable) this.#remember(id, { inputVersion, outputs, version });
    emit({ type: 'node_run_completed', run: run.id, node: id, output: wireOutput(outputs) });
    return { kind: 'done', outputs, version };
  }

  /**
   * Keeps a few versions per node, so going back to earlier params (or a run that finishes after
   * a newer one) still hits the cache.
   */
  #remember(id: string, entry: CacheEntry): void {
    let versions = this.#cache.get(id);
    if (!versions) {
      versions = new Map();
      this.#cache.set(id, versions);
    }
    versions.delete(entry.inputVersion);
    versions.set(entry.inputVersion, entry);
    while (versions.size > CACHED_VERSIONS_PER_NODE) {
      versions.delete(versions.keys().next().value!);
    }
  }

  /** Reports a node failure; the first one fails the run and stops its other work. */
  #fail(run: RunState, node: string, p: Problem): Evaluation {
    this.#options.emit({
      type: 'node_run_failed',
      run: run.id,
      node,
      code: p.code,
      reason: p.message,
    });
    if (!run.failure && !run.cancelled) {
      run.failure = { node, problem: p };
      run.stop.stop();
    }
    return { kind: 'failed' };
  }

  #context(
    run: RunState,
    node: TaskGraphNode,
    connectedInputs: readonly string[],
    inputTypes: Readonly<Record<string, PinType>>,
  ): TaskContext<Record<string, unknown>> {
    const { emit, services, logger, clock } = this.#options;
    const signal = run.stop.signal;
    return {
      nodeId: node.id,
      kind: node.kind,
      runId: run.id,
      params: node.params,
      services,
      logger: logger.child({ node: node.id, run: run.id }),
      clock,
      signal,
      connectedInputs,
      inputTypes,
      stream(chunk) {
        if (signal.stopped || chunk === '') return;
        emit({ type: 'node_stream', run: run.id, node: node.id, chunk });
      },
      progress(fraction, label) {
        if (signal.stopped) return;
        const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
        emit({
          type: 'node_run_progress',
          run: run.id,
          node: node.id,
          fraction: f,
          ...(label === undefined ? {} : { label }),
        });
      },
      waitForAnswer(prompt) {
        return new Promise<Result<unknown>>((resolve) => {
          if (signal.stopped) {
            resolve(err(problem('cancelled', 'the run was cancelled', node.id)));
            return;
          }
          run.waiting.set(node.id, resolve);
          signal.onStop(() => {
            run.waiting.delete(node.id);
            resolve(err(problem('cancelled', 'the run was cancelled', node.id)));
          });
          emit({ type: 'node_run_waiting', run: run.id, node: node.id, prompt });
        });
      },
    };
  }
}

/** A node's inputs in pin order, family members (`in_0`, `in_1`, …) in edge order. */
function incomingOf(graph: TaskGraph, node: TaskGraphNode): Connection[] {
  const order = (pin: string): [number, number] => {
    const spec = node.pins.inputs.findIndex(
      (p) => p.name === pin || (p.family === true && pin.startsWith(p.name)),
    );
    return [spec < 0 ? Number.MAX_SAFE_INTEGER : spec, familyIndex(pin) ?? 0];
  };
  return graph.connections
    .filter((c) => c.to.node === node.id)
    .sort((a, b) => {
      const [sa, ia] = order(a.to.pin);
      const [sb, ib] = order(b.to.pin);
      return sa - sb || ia - ib || a.to.pin.localeCompare(b.to.pin);
    });
}

/** What events carry as a node's output: the `out` pin's value, or every pin's. */
export function wireOutput(outputs: TaskOutputs): unknown {
  const keys = Object.keys(outputs);
  if (keys.length === 1 && keys[0] === 'out') return outputs.out;
  return outputs;
}

function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : 'unknown error';
}
