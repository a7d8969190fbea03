import type { z } from 'zod';
import type { PinType, Problem, Result } from '@patchbay/protocol';
import type { Clock, Logger } from '../host';
import type {
  EngineServices,
  NodeDefinition,
  NodeInstance,
  NodePins,
  StopSignal,
} from '../node-api';

/** Values on a task node's connected input pins, keyed by pin (`in_0`, `in_1`, … for families). */
export type TaskInputs = Readonly<Record<string, unknown>>;

/**
 * Values per output pin. A pin left out is pruned: nodes fed by it are skipped, never run with
 * a null (`flow::conditional` leaves out the branch not taken).
 */
export type TaskOutputs = Readonly<Record<string, unknown>>;

/** What a task node's `execute` may use while it runs inside a demand run (X5). */
export interface TaskContext<P> {
  readonly nodeId: string;
  readonly kind: string;
  readonly runId: string;
  readonly params: P;
  readonly services: EngineServices;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Fires when the run is cancelled or failed elsewhere; long work (a generation) stops on it. */
  readonly signal: StopSignal;
  /** Input pins with at least one connection, in connection order. */
  readonly connectedInputs: readonly string[];
  /** The type of the upstream output pin feeding each input (text to parse vs JSON as is). */
  readonly inputTypes: Readonly<Record<string, PinType>>;
  /** Streams a chunk (e.g. generated tokens) to every client as `node_stream` (X5, X7). */
  stream(chunk: string): void;
  /** Reports progress of slow work (loading a model) in [0, 1] as `node_run_progress`. */
  progress(fraction: number, label?: string): void;
  /**
   * Waits for `answer(runId, nodeId, value)` (a `human::input` node); `node_run_waiting` tells
   * clients what to ask. Resolves `err(cancelled)` when the run stops first.
   */
  waitForAnswer(prompt: string): Promise<Result<unknown>>;
}

/** How a task kind computes its outputs. */
export interface TaskBehaviour<P> {
  /**
   * Computes outputs from inputs. Expected failures are `err(problem)`; a throw becomes an
   * `internal` node failure. Absent when only a host executor implements the kind (X2).
   */
  readonly execute?: (inputs: TaskInputs, ctx: TaskContext<P>) => Promise<TaskResult> | TaskResult;
  /**
   * Outputs are reused while the input version is unchanged (X6). False for nodes whose output
   * depends on the world (files, a human) or that act on it (write, unload): they run on every
   * demand, and their output version is the hash of what they produced.
   */
  readonly cacheable: boolean;
  /** Run when at least one fed input is live (merge); by default any pruned input skips the node. */
  readonly acceptsPruned: boolean;
}

export type TaskResult = Result<TaskOutputs, Problem>;

/** A node kind whose work is computed on demand (X5) rather than streamed. */
export interface TaskNodeDefinition<P = unknown> extends NodeDefinition<P> {
  readonly task: TaskBehaviour<P>;
}

export interface TaskNodeSpec<P> {
  readonly kind: string;
  readonly description: string;
  readonly params: z.ZodType<P>;
  readonly pins: (params: P) => NodePins;
  readonly pathParams?: readonly string[];
  readonly execute?: (inputs: TaskInputs, ctx: TaskContext<P>) => Promise<TaskResult> | TaskResult;
  /** Default true. */
  readonly cacheable?: boolean;
  /** Default false. */
  readonly acceptsPruned?: boolean;
}

/**
 * Defines a task node kind. It lives in the same registry and YAML format as streaming nodes:
 * the engine creates it like any node (an idle instance that holds nothing), and a demand run
 * executes it.
 */
export function defineTaskNode<P>(spec: TaskNodeSpec<P>): TaskNodeDefinition<P> {
  const task: TaskBehaviour<P> = {
    cacheable: spec.cacheable ?? true,
    acceptsPruned: spec.acceptsPruned ?? false,
    ...(spec.execute ? { execute: spec.execute } : {}),
  };
  return {
    kind: spec.kind,
    description: spec.description,
    params: spec.params,
    pins: spec.pins,
    ...(spec.pathParams ? { pathParams: spec.pathParams } : {}),
    task,
    create: () => idleInstance,
  };
}

/** A task node between runs: live (so connections and tunes work as for any node), doing nothing. */
const idleInstance: NodeInstance<unknown> = {
  async run(ctx) {
    // Task nodes take no packets: a streaming node wired into one must never block on a full link.
    while ((await ctx.recv()) !== null) {
      // discarded
    }
    await ctx.signal.promise;
  },
};

/** Is `def` a task node kind? */
export function isTaskDefinition(def: NodeDefinition<unknown>): def is TaskNodeDefinition {
  return 'task' in def && typeof (def as { task?: unknown }).task === 'object';
}
