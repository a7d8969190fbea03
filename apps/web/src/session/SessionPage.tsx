import { Suspense, lazy, useCallback, useEffect, useMemo, useState } from 'react';
import { createPortal } from 'react-dom';
import type { ViewStamp } from '@patchbay/protocol';
import { useCatalog } from '../api/use-catalog';
import { EditorView } from '../editor/EditorView';
import { controlClient } from './control';
import { dismissFirstPaint } from './first-paint';
import { useConnectionState, useRuntime, useSessionConnection } from './hooks';
import { Link } from '../ui/Link';
import { PresenceAvatars } from './PresenceAvatars';
import { SessionContext } from './session-context';
import type { SessionContextValue } from './session-context';
import { StatusChip } from './StatusChip';

const MonitorView = lazy(() =>
  import('../monitor/MonitorView').then((m) => ({ default: m.MonitorView })),
);

/** `/s/:id` and `/s/:id/monitor`: one document connection and one event feed for the session. */
export function SessionPage(props: { sessionId: string; view: 'editor' | 'monitor' }) {
  const conn = useSessionConnection(props.sessionId);
  const control = controlClient();
  const catalog = useCatalog();
  const kinds = useMemo(() => new Map(catalog.map((k) => [k.kind, k])), [catalog]);
  const isStale = useCallback(
    (node: string, stamp: ViewStamp) => conn?.stamper.isStale(node, stamp) ?? false,
    [conn],
  );
  const runtime = useRuntime(control, props.sessionId, isStale);
  const slot = document.getElementById('topbar-slot');
  // Re-render when the connection is refused for good (4401/4403/4404).
  const { synced, status } = useConnectionState(conn);
  const [deleted, setDeleted] = useState(false);
  // The server's first paint of the editor is not what the page shows when the session is gone
  // or cannot be reached: the page's own message is.
  useEffect(() => {
    if (conn?.refused || deleted || status === 'offline') dismissFirstPaint();
  }, [conn?.refused, deleted, status]);
  useEffect(
    () =>
      control.onEvent((e) => {
        if (e.type === 'session_deleted' && e.session === props.sessionId) setDeleted(true);
      }),
    [control, props.sessionId],
  );

  const value: SessionContextValue | undefined = useMemo(
    () =>
      conn ? { sessionId: props.sessionId, conn, control, catalog, kinds, runtime } : undefined,
    [conn, control, catalog, kinds, runtime, props.sessionId],
  );
  if (!value) return <div className="empty">Connecting…</div>;
  if (conn?.refused || deleted) {
    return (
      <div className="empty" data-testid="session-unavailable">
        <p className="error">{deleted ? 'This session was deleted.' : conn?.refused}</p>
        <Link to={{ page: 'sessions' }}>Back to sessions</Link>
      </div>
    );
  }
  return (
    <SessionContext.Provider value={value}>
      {slot ? createPortal(<SessionBar />, slot) : null}
      <div
        className="session-root"
        data-testid="session"
        data-session-id={props.sessionId}
        data-synced={synced ? 'true' : 'false'}
      >
        {props.view === 'editor' ? (
          <EditorView />
        ) : (
          <Suspense fallback={<div className="empty">Loading…</div>}>
            <MonitorView full />
          </Suspense>
        )}
      </div>
    </SessionContext.Provider>
  );
}

function SessionBar() {
  return (
    <>
      <PresenceAvatars />
      <StatusChip />
    </>
  );
}
