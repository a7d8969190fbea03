/**
 * The whole server, composed: storage, Yjs rooms, sessions (engine + bridge per session),
 * auth, the control WebSocket, the HTTP API and metrics. `createServer` listens and returns
 * `{url, close}`, so tests run the real server in-process on port 0.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Context, MiddlewareHandler } from 'hono';
import { createCodecRegistry, nodeClock, nodeWorkerSpawner } from '@patchbay/codecs';
import { COMPOSITOR_THREADS_SERVICE, LLM_BACKEND_SERVICE, silentLogger } from '@patchbay/engine';
import type { Clock, EngineServices, Logger, NodeRegistry } from '@patchbay/engine';
import { createInferenceServices, ensureModel } from '@patchbay/inference';
import { readPipeline } from '@patchbay/document';
import { err, ok } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import { Authenticator, requestToken } from './auth/auth';
import type { AuthConfig } from './auth/auth';
import { ControlHub } from './control/control-hub';
import { createControlRoute } from './control/control-route';
import type { Identity } from './host/server-context';
import { registerApiRoutes } from './http/api-routes';
import { errorBody, statusOf } from './http/http-errors';
import { MetricsRegistry, RateMeter } from './metrics/metrics-registry';
import { DEMO_MARKER_FILE, DEMO_MODEL_DIR, demoPipeline } from './sessions/demo';
import { SessionManager, YJS_CLIENT_UPDATES_COUNTER } from './sessions/session-manager';
import type { RoomProvider } from './sessions/session-manager';
import { openSqliteStorage } from './storage/sqlite-storage';
import type { Storage } from './storage/storage';
import { isClientOrigin } from './yjs/room';
import { RoomManager } from './yjs/room-manager';
import { PreviewHub, registerPreviewRoute } from './preview/preview-route';
import { renderFirstPaint } from './web/first-paint';
import { mountStudio } from './web/studio';
import type { FirstPaintSource } from './web/studio';
import { createYjsRoute, createYjsWebSocketServer } from './yjs/yjs-route';

// Shown at `/` only when the studio has not been built (`npm start` builds it first).
const PLACEHOLDER_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Patchbay</title>
  </head>
  <body>
    <h1>Patchbay</h1>
    <p>The server is running, but the studio has not been built. Run
      <code>npm run build -w @patchbay/web</code> (<code>npm start</code> does it for you).</p>
    <p>Health check: <a href="/healthz">/healthz</a> · Metrics: <a href="/metrics">/metrics</a> ·
      Sessions: <a href="/api/v1/sessions">/api/v1/sessions</a></p>
  </body>
</html>
`;

/** Window of the updates-per-second gauge. */
const UPDATES_RATE_WINDOW_MS = 10_000;

export interface ServerOptions {
  /** Holds `patchbay.db`; created when missing. */
  readonly dataDir: string;
  /** 0 picks a free port. Default 0. */
  readonly port?: number;
  /** Default: every interface. Tests pass 127.0.0.1. */
  readonly hostname?: string;
  /** Tokens and per-role allowlists; none (or no tokens) = open single-user mode. */
  readonly auth?: AuthConfig;
  readonly logger?: Logger;
  /** Create the demo session on first start (default true). */
  readonly demo?: boolean;
  /** Extra services for every engine (e.g. task-node services). */
  readonly services?: EngineServices;
  readonly registry?: NodeRegistry;
  readonly clock?: Clock;
  /** How long an unused Yjs room stays loaded. */
  readonly unloadDelayMs?: number;
  /** The built studio to serve (default apps/web/dist). */
  readonly studioDir?: string;
}

export interface PatchbayServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  readonly app: Hono;
  readonly sessions: SessionManager;
  readonly metrics: MetricsRegistry;
  /** Stops accepting, closes sockets, stops engines, stores what is pending, closes storage. */
  close(): Promise<void>;
}

/** How long a shutdown lets HTTP requests still running finish before closing their sockets. */
const SHUTDOWN_GRACE_MS = 1_000;

/** Builds the Hono app from its parts (no listening, no files). */
export function createApp(parts: {
  sessions: SessionManager;
  hub: ControlHub;
  rooms: RoomManager;
  registry: NodeRegistry;
  metrics: MetricsRegistry;
  authenticator: Authenticator;
  clock: Clock;
  log: Logger;
  services?: EngineServices;
  /** Live previews of video outputs; none = no preview route. */
  previews?: PreviewHub;
  /** The built studio (default apps/web/dist). */
  studioDir?: string;
}): Hono {
  const { authenticator, log } = parts;
  const app = new Hono();
  const authenticate = async (c: Context): Promise<Result<Identity>> =>
    authenticator.authenticate(requestToken(c.req.raw));
  const requireAuth: MiddlewareHandler = async (c, next) => {
    const who = await authenticate(c);
    if (!who.ok) return c.json(errorBody(who.error), statusOf(who.error.code));
    c.set('identity' as never, who.value as never);
    await next();
  };

  app.onError((e, c) => {
    log.error({ err: e, path: c.req.path }, 'request failed');
    return c.json(
      errorBody({ code: 'internal', message: 'the server failed on this request' }),
      500,
    );
  });
  app.notFound((c) =>
    c.json(errorBody({ code: 'not_found', message: `no route ${c.req.path}` }), 404),
  );

  // WebSockets first: they authenticate themselves and close with 4401 rather than answer 401.
  app.get(
    '/yjs/:sessionId',
    createYjsRoute({
      rooms: parts.rooms,
      logger: log,
      authenticate,
      sessionExists: (id) => parts.sessions.exists(id),
    }),
  );
  app.get('/api/v1/control', createControlRoute({ hub: parts.hub, authenticate, logger: log }));
  registerApiRoutes(app, {
    sessions: parts.sessions,
    registry: parts.registry,
    metrics: parts.metrics,
    authenticator,
    clock: parts.clock,
    log,
    ...(parts.services ? { services: parts.services } : {}),
    requireAuth,
  });
  if (parts.previews) registerPreviewRoute(app, { hub: parts.previews, requireAuth });
  // A session's editor page is drawn from the document before the studio's code runs, for
  // requests that may read the session (the page's `?token=` counts, as for its sockets).
  const catalog = parts.registry.list();
  const firstPaint: FirstPaintSource = async (sessionId, c) => {
    const who = authenticator.authenticate(requestToken(c.req.raw) ?? c.req.query('token'));
    if (!who.ok) return undefined;
    try {
      const session = await parts.sessions.get(sessionId);
      if (!session.ok) return undefined;
      return renderFirstPaint({ sessionId, pipeline: readPipeline(session.value.doc), catalog });
    } catch (e) {
      // The page still loads without it: the studio draws the session itself.
      log.warn({ err: e, session: sessionId }, 'first paint failed');
      return undefined;
    }
  };
  // Last: the studio answers the GETs no route above took (its files and its web routes).
  if (!mountStudio(app, parts.studioDir, firstPaint)) app.get('/', (c) => c.html(PLACEHOLDER_HTML));
  return app;
}

/** Starts the server: storage, rooms, every stored session's engine, then the listener. */
export async function createServer(options: ServerOptions): Promise<PatchbayServer> {
  const log = options.logger ?? silentLogger;
  mkdirSync(options.dataDir, { recursive: true });
  const metrics = new MetricsRegistry();
  const opened = openSqliteStorage({
    dataDir: options.dataDir,
    logger: log.child({ mod: 'storage' }),
    metrics,
  });
  if (!opened.ok) throw new Error(`storage: ${opened.error.message}`);
  const storage: Storage = opened.value;
  const rooms = new RoomManager({
    storage,
    logger: log,
    metrics,
    ...(options.unloadDelayMs !== undefined ? { unloadDelayMs: options.unloadDelayMs } : {}),
  });
  const authenticator = new Authenticator(options.auth ?? { tokens: [] });
  if (authenticator.open) {
    log.warn(
      { user: 'local', role: 'admin' },
      'no tokens configured: open single-user mode, every request is the admin "local"',
    );
  }
  const registry = options.registry ?? createCodecRegistry();
  const clock = options.clock ?? nodeClock();
  const inference = createInferenceServices({
    dataDir: options.dataDir,
    logger: log.child({ mod: 'inference' }),
  });
  const services: EngineServices = {
    // The compositor draws half its rows on a second thread when the host offers one.
    [COMPOSITOR_THREADS_SERVICE]: nodeWorkerSpawner(),
    // Task nodes (X3): the LLM backend (loads nothing until a model node runs), files confined
    // to the data dir, and HTTP for OpenAI-compatible servers.
    ...inference,
    ...options.services,
  };
  const roomProvider: RoomProvider = {
    acquire: async (id) => {
      const r = await rooms.acquire(id);
      return r.ok ? ok(r.value) : err(r.error);
    },
    close: async (id) => rooms.evict(id),
    identityOf: (origin) => (isClientOrigin(origin) ? origin.identity : undefined),
  };
  const sessions = new SessionManager({
    storage,
    rooms: roomProvider,
    registry,
    clock,
    log: log.child({ mod: 'sessions' }),
    metrics,
    authenticator,
    dataDir: options.dataDir,
    services,
  });
  const updates = new RateMeter(UPDATES_RATE_WINDOW_MS, () => clock.now());
  sessions.onClientUpdate = () => updates.mark();
  const started = await sessions.start();
  if (!started.ok) throw new Error(`sessions: ${started.error.message}`);
  await createDemoOnce(options, sessions, log);

  const hub = new ControlHub({ sessions, log: log.child({ mod: 'control' }) });
  metrics
    .describe(
      YJS_CLIENT_UPDATES_COUNTER,
      'counter',
      'Document updates from clients the session bridges handled.',
    )
    .collector(
      'patchbay_yjs_updates_per_second',
      'gauge',
      `Client document updates per second over the last ${UPDATES_RATE_WINDOW_MS / 1000} s.`,
      () => [{ value: updates.perSecond() }],
    )
    .collector(
      'patchbay_control_connections',
      'gauge',
      'Open control WebSocket connections.',
      () => [{ value: hub.connectionCount }],
    )
    .collector(
      'patchbay_websocket_connections',
      'gauge',
      'Open WebSocket connections, by endpoint.',
      () => [
        { labels: { endpoint: 'control' }, value: hub.connectionCount },
        { labels: { endpoint: 'yjs' }, value: rooms.stats().connections },
      ],
    )
    .collector('patchbay_sessions_open', 'gauge', 'Sessions whose engine is running.', () => [
      { value: sessions.openCount },
    ])
    .collector(
      'patchbay_control_rejected_frames_total',
      'counter',
      'Control frames refused as malformed.',
      () => [{ value: hub.rejectedFrames }],
    );

  const previews = new PreviewHub({ get: (id) => sessions.get(id) });
  const app = createApp({
    sessions,
    previews,
    hub,
    rooms,
    registry,
    metrics,
    authenticator,
    clock,
    log,
    services,
    ...(options.studioDir ? { studioDir: options.studioDir } : {}),
  });
  const wss = createYjsWebSocketServer();
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: options.port ?? 0,
        ...(options.hostname ? { hostname: options.hostname } : {}),
        websocket: { server: wss },
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.hostname ?? 'localhost';
  log.info({ port, dataDir: options.dataDir, sessions: sessions.openCount }, 'patchbay listening');
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    app,
    sessions,
    metrics,
    close() {
      closing ??= (async () => {
        hub.dispose();
        previews.close();
        await sessions.shutdown();
        // A loaded model holds memory and threads until disposed.
        const backend = inference[LLM_BACKEND_SERVICE] as { dispose?: () => Promise<void> };
        await backend
          .dispose?.()
          .catch((e: unknown) => log.warn({ err: e }, 'model unload failed'));
        await rooms.close();
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // close() waits for every HTTP connection to end: idle keep-alive ones (a browser
          // holds several) are closed now, requests still running get a short grace.
          if ('closeIdleConnections' in server) {
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
          }
        });
        await storage.close();
        log.info({}, 'patchbay stopped');
      })();
      return closing;
    },
  };
}

/** The demo session, once per data dir (a marker file remembers it, so deleting it sticks). */
async function createDemoOnce(
  options: ServerOptions,
  sessions: SessionManager,
  log: Logger,
): Promise<void> {
  if (options.demo === false) return;
  const marker = join(options.dataDir, DEMO_MARKER_FILE);
  if (existsSync(marker)) return;
  // The LLM chain runs on a generated tiny model (0.6 MB, nothing is downloaded); without it
  // the demo still has its media part.
  let modelPath: string | undefined;
  try {
    const file = await ensureModel('tiny', join(options.dataDir, DEMO_MODEL_DIR));
    modelPath = relative(options.dataDir, file);
  } catch (e) {
    log.warn({ err: e }, 'demo model could not be generated: the demo has no LLM chain');
  }
  const created = await sessions.create({ pipeline: demoPipeline(modelPath) }, undefined);
  if (!created.ok) {
    log.error({ problems: created.error }, 'demo session could not be created');
    return;
  }
  writeFileSync(marker, `${created.value.id}\n`);
  log.info({ session: created.value.id }, 'demo session created');
}
