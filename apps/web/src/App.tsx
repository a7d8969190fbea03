import { Suspense, lazy } from 'react';
import { useRoute } from './router/use-route';
import { Link } from './ui/Link';
import { ToastHost } from './ui/ToastHost';
import { SessionPage } from './session/SessionPage';

// The session list is its own chunk: a link to a session loads only what the editor needs.
const SessionsPage = lazy(() =>
  import('./sessions/SessionsPage').then((m) => ({ default: m.SessionsPage })),
);

/** The studio: the route decides the page; a session page keeps one connection per session. */
export function App() {
  const route = useRoute();
  return (
    <div className="app">
      <header className="topbar">
        <Link to={{ page: 'sessions' }} className="brand" testId="nav-home">
          Patchbay
        </Link>
        {route.page === 'editor' || route.page === 'monitor' ? (
          <nav className="tabs">
            <Link
              to={{ page: 'editor', sessionId: route.sessionId }}
              className={route.page === 'editor' ? 'tab active' : 'tab'}
              testId="nav-editor"
            >
              Editor
            </Link>
            <Link
              to={{ page: 'monitor', sessionId: route.sessionId }}
              className={route.page === 'monitor' ? 'tab active' : 'tab'}
              testId="nav-monitor"
            >
              Monitor
            </Link>
          </nav>
        ) : null}
        <div id="topbar-slot" className="topbar-slot" />
      </header>
      <main className="page">
        {route.page === 'sessions' ? (
          <Suspense fallback={<div className="empty">Loading…</div>}>
            <SessionsPage />
          </Suspense>
        ) : null}
        {route.page === 'editor' || route.page === 'monitor' ? (
          <SessionPage key={route.sessionId} sessionId={route.sessionId} view={route.page} />
        ) : null}
        {route.page === 'not_found' ? (
          <div className="empty" data-testid="not-found">
            No page at {route.path}. <Link to={{ page: 'sessions' }}>Sessions</Link>
          </div>
        ) : null}
      </main>
      <ToastHost />
    </div>
  );
}
