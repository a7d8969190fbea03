/**
 * The HTTP API: health, metrics, the node catalogue, sessions and their pipelines, and oneshot
 * processing. Every error is `{error: {code, message, node?, problems?}}` with the status
 * `statusOf(code)` gives.
 */
import type { Clock, EngineServices, Logger, NodeRegistry } from '@patchbay/engine';
import { exportPipelineYaml, problem } from '@patchbay/protocol';
import type { Problem } from '@patchbay/protocol';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Authenticator } from '../auth/auth';
import type { Identity, ServerMetrics } from '../host/server-context';
import type { MetricsRegistry } from '../metrics/metrics-registry';
import type { SessionManager } from '../sessions/session-manager';
import { errorBody, statusOf } from './http-errors';
import { MAX_PROCESS_BODY_BYTES, createProcessHandler } from './process-route';

/** The largest pipeline YAML a PUT or POST accepts. */
export const MAX_PIPELINE_BODY_BYTES = 4 * 1024 * 1024;

export interface ApiRoutesOptions {
  readonly sessions: SessionManager;
  readonly registry: NodeRegistry;
  readonly metrics: MetricsRegistry & ServerMetrics;
  readonly authenticator: Authenticator;
  readonly clock: Clock;
  readonly log: Logger;
  readonly services?: EngineServices;
  /** Authenticates a request (Bearer token), sets `identity` or answers 401. */
  readonly requireAuth: MiddlewareHandler;
}

/** The identity the auth middleware stored on the context. */
export function identityOf(c: Context): Identity {
  return c.get('identity' as never) as Identity;
}

export function registerApiRoutes(app: Hono, o: ApiRoutesOptions): void {
  const fail = (c: Context, p: Problem | readonly Problem[]) => {
    const first = Array.isArray(p) ? (p as readonly Problem[])[0] : (p as Problem);
    return c.json(errorBody(p), statusOf(first?.code ?? 'internal'));
  };

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/metrics', (c) =>
    c.text(o.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );

  app.use('/api/*', o.requireAuth);
  // Bodies are read whole: bound them, also when the client sends no content-length.
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) =>
        fail(c, problem('frame_too_large', `the request body exceeds ${maxSize} bytes`)),
    });
  app.use('/api/v1/sessions', limit(MAX_PIPELINE_BODY_BYTES));
  app.use('/api/v1/sessions/*', limit(MAX_PIPELINE_BODY_BYTES));
  app.use('/api/v1/process', limit(MAX_PROCESS_BODY_BYTES));

  const nodes = o.registry.list();
  app.get('/api/v1/nodes', (c) => c.json({ nodes }));

  app.get('/api/v1/sessions', async (c) => {
    const r = await o.sessions.list();
    return r.ok ? c.json({ sessions: r.value }) : fail(c, r.error);
  });

  app.post('/api/v1/sessions', async (c) => {
    const body = await readJson(c);
    if (!body.ok) return fail(c, body.error);
    const input = body.value ?? {};
    if (typeof input !== 'object' || Array.isArray(input) || input === null) {
      return fail(c, problem('bad_request', 'expected a JSON object {name?, yaml?}'));
    }
    const { name, yaml } = input as { name?: unknown; yaml?: unknown };
    if (name !== undefined && (typeof name !== 'string' || name.length > 256)) {
      return fail(c, problem('bad_request', 'name must be text of at most 256 characters'));
    }
    if (yaml !== undefined && typeof yaml !== 'string') {
      return fail(c, problem('bad_request', 'yaml must be text'));
    }
    const r = await o.sessions.create({ name, yaml }, identityOf(c));
    return r.ok ? c.json(r.value, 201) : fail(c, r.error);
  });

  app.delete('/api/v1/sessions/:id', async (c) => {
    const r = await o.sessions.delete(c.req.param('id'), identityOf(c));
    return r.ok ? c.body(null, 204) : fail(c, r.error);
  });

  app.get('/api/v1/sessions/:id/pipeline', async (c) => {
    const format = c.req.query('format') ?? 'yaml';
    if (format !== 'yaml' && format !== 'json') {
      return fail(c, problem('bad_request', 'format must be yaml or json'));
    }
    const r = await o.sessions.pipeline(c.req.param('id'));
    if (!r.ok) return fail(c, r.error);
    if (format === 'json') return c.json(r.value);
    return c.body(exportPipelineYaml(r.value), 200, {
      'content-type': 'application/yaml; charset=utf-8',
    });
  });

  app.put('/api/v1/sessions/:id/pipeline', async (c) => {
    const length = Number(c.req.header('content-length') ?? '0');
    if (length > MAX_PIPELINE_BODY_BYTES) {
      return fail(
        c,
        problem('frame_too_large', `pipeline YAML is limited to ${MAX_PIPELINE_BODY_BYTES} bytes`),
      );
    }
    const session = await o.sessions.get(c.req.param('id'));
    if (!session.ok) return fail(c, session.error);
    const text = await c.req.text();
    if (text.length > MAX_PIPELINE_BODY_BYTES) {
      return fail(
        c,
        problem('frame_too_large', `pipeline YAML is limited to ${MAX_PIPELINE_BODY_BYTES} bytes`),
      );
    }
    const parsed = o.sessions.parseYaml(text);
    if (!parsed.ok) return fail(c, parsed.error);
    const r = await session.value.bridge.replace(parsed.value, identityOf(c));
    if (!r.ok) return fail(c, r.error);
    const now = await o.sessions.pipeline(session.value.id);
    if (!now.ok) return fail(c, now.error);
    return c.body(exportPipelineYaml(now.value), 200, {
      'content-type': 'application/yaml; charset=utf-8',
    });
  });

  app.post(
    '/api/v1/process',
    createProcessHandler({
      registry: o.registry,
      clock: o.clock,
      log: o.log,
      metrics: o.metrics,
      authenticator: o.authenticator,
      services: o.services ?? {},
      identity: identityOf,
    }),
  );
}

async function readJson(
  c: Context,
): Promise<{ ok: true; value: unknown } | { ok: false; error: Problem }> {
  const text = await c.req.text();
  if (text.trim() === '') return { ok: true, value: undefined };
  if (text.length > MAX_PIPELINE_BODY_BYTES) {
    return { ok: false, error: problem('frame_too_large', 'the body is too large') };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, error: problem('bad_request', 'the body is not valid JSON') };
  }
}
