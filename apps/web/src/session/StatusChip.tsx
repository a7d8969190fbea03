import { useConnectionState, useControlStatus } from './hooks';
import type { LinkStatus } from './control-client';
import { useSession } from './session-context';

/** Both links up → connected; either down for a while → offline; otherwise connecting. */
export function combinedStatus(doc: LinkStatus, control: LinkStatus): LinkStatus {
  if (doc === 'connected' && control === 'connected') return 'connected';
  if (doc === 'offline' || control === 'offline') return 'offline';
  return 'connecting';
}

/** The visible connection state of this session. */
export function StatusChip() {
  const { conn, control } = useSession();
  const doc = useConnectionState(conn);
  const ctl = useControlStatus(control);
  const status = combinedStatus(doc.status, ctl);
  const title = `document: ${doc.status}${doc.synced ? ' (synced)' : ''}; control: ${ctl}`;
  return (
    <span
      className={`status-chip status-${status}`}
      data-testid="status-chip"
      data-status={status}
      title={title}
    >
      {status}
    </span>
  );
}
