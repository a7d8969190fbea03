import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';

/** Where `vite build` puts the studio (apps/web/dist). */
export const STUDIO_DIST_DIR = resolve(
  fileURLToPath(new URL('.', import.meta.url)),
  '../../../web/dist',
);

/** Paths the studio never answers: the API, WebSockets and the server's own endpoints. */
const SERVER_PATHS = /^\/(api|yjs|metrics|healthz)(\/|$)/;

/**
 * Serves the built studio: its files (hashed assets cached for a year), and `index.html` for
 * every other GET that is not a server path, so `/s/:sessionId` and `/s/:sessionId/monitor`
 * load the app, which routes in the browser. Returns false (and mounts nothing) when there is
 * no build, so the caller can show a placeholder that says how to build it.
 */
export function mountStudio(app: Hono, distDir = STUDIO_DIST_DIR): boolean {
  const indexFile = join(distDir, 'index.html');
  if (!existsSync(indexFile)) return false;
  // Read per request: a rebuild while the server runs is picked up without a restart.
  const indexHtml = (): string | undefined => {
    try {
      return readFileSync(indexFile, 'utf8');
    } catch {
      return undefined;
    }
  };
  app.use('/assets/*', async (c, next) => {
    await next();
    // Vite names assets by content hash: a changed file is a new URL.
    if (c.res.status === 200)
      c.res.headers.set('Cache-Control', 'public, max-age=31536000, immutable');
  });
  app.use('/assets/*', serveStatic({ root: distDir }));
  app.get('*', async (c, next) => {
    if (SERVER_PATHS.test(c.req.path)) return next();
    const file = c.req.path.slice(1);
    // Top-level files of the build (favicon and the like); anything else is a studio route.
    if (/^[\w.-]+\.\w+$/.test(file) && file !== 'index.html' && existsSync(join(distDir, file)))
      return serveStatic({ root: distDir })(c, next);
    c.header('Cache-Control', 'no-cache');
    const html = indexHtml();
    // A rebuild empties the folder for a moment.
    if (html === undefined)
      return c.text('The studio is being rebuilt; reload in a moment.', 503, {
        'Retry-After': '2',
      });
    return c.html(html);
  });
  return true;
}
