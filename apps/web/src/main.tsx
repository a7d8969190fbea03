import '@xyflow/react/dist/style.css';
import './styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { adoptTokenFromUrl } from './api/token';
import { App } from './App';
import { createPngPreviewSource } from './compositor/png-preview-source';
import { setCompositorPreviewSource } from './compositor/preview-source';
import { loadCatalog } from './api/use-catalog';
import { parseRoute } from './router/route';
import { controlClient } from './session/control';
import { openEarly } from './session/early-connection';

performance.mark('patchbay:studio-code-running');
adoptTokenFromUrl();
setCompositorPreviewSource(createPngPreviewSource());
// A session page's document, event feed and node catalogue start loading before the first
// render, so they arrive while React draws the page rather than after.
const route = parseRoute(window.location.pathname);
if (route.page === 'editor' || route.page === 'monitor') {
  openEarly(route.sessionId);
  controlClient();
  void loadCatalog();
}
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
