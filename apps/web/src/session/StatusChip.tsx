import { useConnectionState, useControlStatus } from './hooks';
import { combinedStatus } from './link-status';
import { useSession } from './session-context';

/** The visible connection state of this session. */
export function StatusChip() {
  const { conn, control } = useSession();
  const doc = useConnectionState(conn);
  const ctl = useControlStatus(control);
  const status = combinedStatus(doc.status, ctl);
  const title =
    conn.refused ?? `document: ${doc.status}${doc.synced ? ' (synced)' : ''}; control: ${ctl}`;
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
