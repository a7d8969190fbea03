import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { createApp } from './app';

const DEFAULT_PORT = 4700;

// npm runs a workspace script with cwd = the workspace folder (apps/server), but `./data` in
// the README means the folder `npm start` was typed in. npm records that in INIT_CWD; when the
// server is started without npm, the process cwd is already the right base.
const baseDir = process.env.INIT_CWD ?? process.cwd();
const dataDir = resolve(baseDir, process.env.PATCHBAY_DATA_DIR ?? 'data');
const port = parsePort(process.env.PORT);

mkdirSync(dataDir, { recursive: true });

const app = createApp();
const server = serve({ fetch: app.fetch, port }, () => {
  // One line on start-up is the whole log for now; the server issue brings the pino root logger.
  console.log(`Patchbay listening on http://localhost:${port} (data: ${dataDir})`);
});

server.on('error', (err: NodeJS.ErrnoException) => {
  console.error(
    err.code === 'EADDRINUSE'
      ? `Port ${port} is in use; set PORT to another port.`
      : `Server failed: ${err.message}`,
  );
  process.exit(1);
});

// Close the listener on Ctrl-C / docker stop so the port is free for the next start.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
  });
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`PORT must be an integer 0-65535, got "${value}".`);
    process.exit(1);
  }
  return n;
}
