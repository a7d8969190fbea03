import type { EngineEvent } from '@patchbay/engine';
import { CONTROL_EVENT_TYPES } from '@patchbay/protocol';
import type { ControlEvent } from '@patchbay/protocol';

/** Demand-run events (X5): the engine emits them as control events without the session. */
const RUN_EVENT_TYPES: ReadonlySet<string> = new Set(
  CONTROL_EVENT_TYPES.filter(
    (t) => t === 'node_stream' || t.startsWith('run_') || t.startsWith('node_run_'),
  ),
);

/** An engine event as the control API sends it (undefined: not sent to clients). */
export function controlEventOf(session: string, e: EngineEvent): ControlEvent | undefined {
  switch (e.type) {
    case 'node_state':
      return { type: 'node_state', session, node: e.node, state: e.state };
    case 'node_removed':
      return { type: 'node_removed', session, node: e.node };
    case 'node_stats':
      return { type: 'node_stats', session, node: e.node, stats: { ...e.stats } };
    case 'node_view_data':
      return { type: 'node_view_data', session, node: e.node, data: e.data, stamp: e.stamp };
    case 'connection_removed':
      return {
        type: 'connection_removed',
        session,
        from: e.connection.from,
        to: e.connection.to,
        reason: e.reason,
      };
    case 'connection_added':
      // The document already shows the connection; nothing volatile to send.
      return undefined;
    default: {
      // X7: run events and streamed chunks reach every client watching the session.
      const run = e as { type: string };
      return RUN_EVENT_TYPES.has(run.type) ? ({ ...run, session } as ControlEvent) : undefined;
    }
  }
}
