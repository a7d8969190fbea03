import { z } from 'zod';

/** Why a node stopped (E1). */
export const StopReason = {
  completed: 'completed',
  input_closed: 'input_closed',
  output_closed: 'output_closed',
  shutdown: 'shutdown',
  no_inputs: 'no_inputs',
} as const;
export type StopReason = (typeof StopReason)[keyof typeof StopReason];
export const StopReasonSchema = z.enum([
  'completed',
  'input_closed',
  'output_closed',
  'shutdown',
  'no_inputs',
]);

/** The eight lifecycle states of E1. */
export const NodeStatus = {
  creating: 'creating',
  initializing: 'initializing',
  ready: 'ready',
  running: 'running',
  recovering: 'recovering',
  degraded: 'degraded',
  failed: 'failed',
  stopped: 'stopped',
} as const;
export type NodeStatus = (typeof NodeStatus)[keyof typeof NodeStatus];
export const NODE_STATUSES: readonly NodeStatus[] = Object.values(NodeStatus);

export const NodeStateSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('creating') }),
  z.object({ status: z.literal('initializing') }),
  z.object({ status: z.literal('ready') }),
  z.object({ status: z.literal('running') }),
  z.object({ status: z.literal('recovering'), reason: z.string() }),
  z.object({ status: z.literal('degraded'), reason: z.string() }),
  z.object({ status: z.literal('failed'), reason: z.string() }),
  z.object({ status: z.literal('stopped'), reason: StopReasonSchema }),
]);
export type NodeState = z.infer<typeof NodeStateSchema>;

const ALLOWED: Record<NodeStatus, readonly NodeStatus[]> = {
  creating: ['initializing', 'failed'],
  initializing: ['ready', 'running', 'failed'],
  ready: ['running', 'failed'],
  running: ['recovering', 'degraded', 'failed', 'stopped'],
  recovering: ['running', 'degraded', 'failed'],
  degraded: ['running', 'failed'],
  failed: [],
  stopped: [],
};

/** E1: is `from → to` an allowed transition? Any state may go to `stopped`. */
export function canTransition(from: NodeStatus, to: NodeStatus): boolean {
  if (to === 'stopped') return from !== 'stopped';
  return ALLOWED[from].includes(to);
}

/** Terminal states: the node will not run again until removed and re-added. */
export function isTerminal(status: NodeStatus): boolean {
  return status === 'failed' || status === 'stopped';
}

/** States in which a node's instance exists and may take packets (E7 "realized"). */
export function isRealized(status: NodeStatus): boolean {
  return (
    status === 'ready' || status === 'running' || status === 'degraded' || status === 'recovering'
  );
}

export function describeState(state: NodeState): string {
  return 'reason' in state ? `${state.status}{${state.reason}}` : state.status;
}
