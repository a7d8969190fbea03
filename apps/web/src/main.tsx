import '@xyflow/react/dist/style.css';
import './styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { adoptTokenFromUrl } from './api/token';
import { App } from './App';
import { createPngPreviewSource } from './compositor/png-preview-source';
import { setCompositorPreviewSource } from './compositor/preview-source';

adoptTokenFromUrl();
setCompositorPreviewSource(createPngPreviewSource());
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
