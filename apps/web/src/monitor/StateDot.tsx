import type { NodeState } from '@patchbay/protocol';

/** A coloured dot for a node's E1 state; the reason (if any) is the tooltip. */
export function StateDot(props: { node: string; state: NodeState | undefined }) {
  const status = props.state?.status ?? 'unknown';
  const reason = props.state && 'reason' in props.state ? props.state.reason : undefined;
  return (
    <span
      className={`state-dot state-${status}`}
      data-testid={`node-state-${props.node}`}
      data-state={status}
      data-reason={reason}
      title={reason ? `${status}: ${reason}` : status}
    />
  );
}
