import { Hono } from 'hono';

// Placeholder page until the studio (apps/web) is served from here. Inline so the server has
// no build step yet; the server and web-studio issues replace it with the built Vite bundle.
const PLACEHOLDER_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Patchbay</title>
  </head>
  <body>
    <h1>Patchbay</h1>
    <p>The server is running. Patchbay's studio arrives with the server and web issues.</p>
    <p>Health check: <a href="/healthz">/healthz</a></p>
  </body>
</html>
`;

/** Builds the HTTP app. Kept free of listening and file-system setup so tests call it in-process. */
export function createApp(): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/', (c) => c.html(PLACEHOLDER_HTML));
  return app;
}
