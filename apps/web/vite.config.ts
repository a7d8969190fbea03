import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The server the dev server forwards API and WebSocket traffic to (`npm start` listens there). */
const SERVER =
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
    .PATCHBAY_SERVER ?? 'http://localhost:4700';

export default defineConfig({
  plugins: [react()],
  // Two Yjs copies in one bundle break `instanceof` checks and sync ("Yjs was already imported").
  resolve: { dedupe: ['yjs'] },
  // One page app: the editor, React Flow and Yjs load together (about 240 kB gzipped).
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: SERVER, ws: true, changeOrigin: true },
      '/yjs': { target: SERVER, ws: true, changeOrigin: true },
      '/healthz': { target: SERVER },
    },
  },
});
