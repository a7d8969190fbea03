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
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      treeshake: {
        // The protocol's entry re-exports its YAML import/export, so without this every page
        // would load the YAML library; both are free of side effects, so they move to the
        // YAML pane's chunk, the only code that calls them.
        moduleSideEffects: [
          { test: /[\\/]node_modules[\\/]yaml[\\/]/, sideEffects: false },
          { test: /[\\/]packages[\\/]protocol[\\/]src[\\/]yaml\.ts$/, sideEffects: false },
        ],
      },
    },
  },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: SERVER, ws: true, changeOrigin: true },
      '/yjs': { target: SERVER, ws: true, changeOrigin: true },
      '/healthz': { target: SERVER },
    },
  },
});
