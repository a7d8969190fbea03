import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Context, Hono } from 'hono';
import { withFirstPaint } from './first-paint';

/** Where `vite build` puts the studio (apps/web/dist). */
export const STUDIO_DIST_DIR = resolve(
  fileURLToPath(new URL('.', import.meta.url)),
  '../../../web/dist',
);

/** Paths the studio never answers: the API, WebSockets and the server's own endpoints. */
const SERVER_PATHS = /^\/(api|yjs|metrics|healthz)(\/|$)/;

/** A session's editor page (`/s/:id`, the studio's route syntax). */
const EDITOR_PATH = /^\/s\/([A-Za-z0-9_-]{1,128})\/?$/;

/**
 * The first paint of a session's editor page (first-paint.ts), or undefined to send the plain
 * page (no such session, or a request not allowed to read it).
 */
export type FirstPaintSource = (sessionId: string, c: Context) => Promise<string | undefined>;

/**
 * Serves the built studio: its files (hashed assets cached for a year), and `index.html` for
 * every other GET that is not a server path, so `/s/:sessionId` and `/s/:sessionId/monitor`
 * load the app, which routes in the browser; a session's editor page also carries its first
 * paint when `firstPaint` gives one. Returns false (and mounts nothing) when there is
 * no build, so the caller can show a placeholder that says how to build it.
 */
export function mountStudio(
  app: Hono,
  distDir = STUDIO_DIST_DIR,
  firstPaint?: FirstPaintSource,
): boolean {
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
  // Built assets are named by content hash, so a file read once stays right.
  const assets = new Map<string, string | undefined>();
  const readAsset = (path: string): string | undefined => {
    if (!assets.has(path)) {
      const file = join(distDir, path);
      let text: string | undefined;
      try {
        text = file.startsWith(distDir) ? readFileSync(file, 'utf8') : undefined;
      } catch {
        text = undefined;
      }
      assets.set(path, text);
    }
    return assets.get(path);
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
    const session = firstPaint ? EDITOR_PATH.exec(c.req.path)?.[1] : undefined;
    const painted = session && firstPaint ? await firstPaint(session, c) : undefined;
    return c.html(painted ? withFirstPaint(html, painted, readAsset) : html);
  });
  return true;
}
