/**
 * `npm start`: reads the environment, starts the server, and stops it gracefully on
 * SIGINT/SIGTERM (sockets closed, engines stopped, pending document updates stored).
 *
 * PORT (default 4700), PATCHBAY_DATA_DIR (default ./data), PATCHBAY_TOKENS_FILE or
 * PATCHBAY_TOKENS (see src/auth/auth.ts; neither = open single-user mode), LOG_LEVEL.
 */
import { resolve } from 'node:path';
import pino from 'pino';
import { loadAuthConfig } from './auth/auth';
import { createServer } from './app';

const DEFAULT_PORT = 4700;

const log = pino({ level: process.env.LOG_LEVEL ?? 'info' });

// npm runs a workspace script with cwd = the workspace folder (apps/server), but `./data` in
// the README means the folder `npm start` was typed in. npm records that in INIT_CWD; when the
// server is started without npm, the process cwd is already the right base.
const baseDir = process.env.INIT_CWD ?? process.cwd();
const dataDir = resolve(baseDir, process.env.PATCHBAY_DATA_DIR ?? 'data');
const port = parsePort(process.env.PORT);

const auth = loadAuthConfig(process.env);
if (!auth.ok) {
  log.fatal({ problem: auth.error }, 'tokens configuration is invalid');
  process.exit(1);
}

try {
  const server = await createServer({ dataDir, port, auth: auth.value, logger: log });
  log.info({ url: `http://localhost:${server.port}`, dataDir }, 'Patchbay is ready');
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      server.close().then(
        () => process.exit(0),
        (e: unknown) => {
          log.error({ err: e }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
} catch (e) {
  const code = (e as NodeJS.ErrnoException).code;
  log.fatal(
    { err: e, port },
    code === 'EADDRINUSE' ? 'port is in use; set PORT to another port' : 'server failed to start',
  );
  process.exit(1);
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    log.fatal({ value }, 'PORT must be an integer 0-65535');
    process.exit(1);
  }
  return n;
}
