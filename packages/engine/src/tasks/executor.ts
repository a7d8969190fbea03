import { err, problem } from '@patchbay/protocol';
import type { TaskContext, TaskInputs, TaskNodeDefinition, TaskResult } from './task-api';

/** One node execution a demand run asks for. */
export interface TaskRequest {
  readonly kind: string;
  readonly definition: TaskNodeDefinition;
  readonly inputs: TaskInputs;
  readonly ctx: TaskContext<Record<string, unknown>>;
}

/**
 * What an executor says about a request (X2): it did not take it (`handled: false`, the next
 * executor is asked), or it ran it and this is the outcome (which may itself be a failure).
 */
export type TaskExecution = { handled: false } | { handled: true; result: TaskResult };

/** Runs task nodes. A host adds or overrides kinds by putting its executor before the engine's. */
export interface TaskExecutor {
  execute(request: TaskRequest): Promise<TaskExecution> | TaskExecution;
}

/** The typed "not mine" answer. */
export const NOT_HANDLED: TaskExecution = Object.freeze({ handled: false });

/** The engine's own executor: the `execute` of the kind's definition, when it has one. */
export const builtinExecutor: TaskExecutor = {
  async execute({ definition, inputs, ctx }) {
    const execute = definition.task.execute;
    if (!execute) return NOT_HANDLED;
    return { handled: true, result: await execute(inputs, ctx) };
  },
};

/** Asks each executor in order; the first that handles a request decides its outcome (X2). */
export class CompositeExecutor implements TaskExecutor {
  readonly #executors: readonly TaskExecutor[];

  constructor(executors: readonly TaskExecutor[]) {
    this.#executors = executors;
  }

  async execute(request: TaskRequest): Promise<TaskExecution> {
    for (const executor of this.#executors) {
      const outcome = await executor.execute(request);
      if (outcome.handled) return outcome;
    }
    return NOT_HANDLED;
  }
}

/** The outcome when no executor took a request: a node failure naming the kind. */
export function unhandledResult(request: TaskRequest): TaskResult {
  return err(
    problem(
      'unknown_kind',
      `no executor in this host runs ${request.kind} (node ${request.ctx.nodeId})`,
      request.ctx.nodeId,
    ),
  );
}
