/**
 * A small OpenAI-compatible HTTP server for tests of `llm::openai` and the HTTP client: the real
 * NodeLlamaBackend on the generated tiny model behind `POST /v1/chat/completions` and
 * `POST /v1/completions` (JSON or SSE streaming, in OpenAI's shapes, as llama.cpp's server and
 * Ollama serve them), with fault modes a test switches on per server.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { LlmBackend, LlmGeneration, LoadedLlmModel } from '@patchbay/engine';
import { ensureModel } from '../fixtures/planted-model';
import { NodeLlamaBackend } from '../node-llama-backend';
import { createStop } from './stop-controller';

/**
 * - `none`: behave.
 * - `error_500`: every completion request gets 500 with an OpenAI-style JSON error.
 * - `malformed_sse`: a streamed response sends one good event, then a `data:` line that is not
 *   JSON, then carries on to `[DONE]`.
 * - `close_mid_stream`: a streamed response sends two content events, then the connection is
 *   cut (no `[DONE]`; events written just before the cut may be lost with it).
 */
export type OpenAiTestFault = 'none' | 'error_500' | 'malformed_sse' | 'close_mid_stream';

export const OPENAI_TEST_MODEL = 'patchbay-planted-tiny';
/** Tokens generated when a request gives no `max_tokens`. */
const DEFAULT_MAX_TOKENS = 64;

export interface OpenAiTestServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `${url}/v1`, what OpenAI clients take as their base URL. */
  readonly baseUrl: string;
  setFault(fault: OpenAiTestFault): void;
  /** Stops listening, cuts open connections and unloads the model. */
  close(): Promise<void>;
}

export interface OpenAiTestServerOptions {
  readonly fault?: OpenAiTestFault;
  /** Defaults to the generated tiny model in the shared cache. */
  readonly modelPath?: string;
  readonly backend?: LlmBackend;
  /** Concurrent requests served at once (context sequences). Default 2. */
  readonly sequences?: number;
}

interface CompletionBody {
  prompt?: unknown;
  messages?: unknown;
  stream?: unknown;
  max_tokens?: unknown;
  temperature?: unknown;
  seed?: unknown;
}

type Parsed =
  | {
      ok: true;
      prompt: string;
      systemPrompt?: string;
      maxTokens: number;
      temperature: number;
      seed?: number;
      stream: boolean;
    }
  | { ok: false; message: string };

function parseBody(kind: 'chat' | 'text', body: CompletionBody): Parsed {
  const maxTokens = body.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
    return { ok: false, message: 'max_tokens must be a positive integer' };
  }
  const temperature = body.temperature ?? 0;
  if (typeof temperature !== 'number' || temperature < 0) {
    return { ok: false, message: 'temperature must be a number ≥ 0' };
  }
  const seed = typeof body.seed === 'number' ? { seed: body.seed } : {};
  const common = { maxTokens, temperature, stream: body.stream === true, ...seed };
  if (kind === 'text') {
    if (typeof body.prompt !== 'string') return { ok: false, message: 'prompt must be a string' };
    return { ok: true, prompt: body.prompt, ...common };
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return { ok: false, message: 'messages must be a non-empty array' };
  }
  const system: string[] = [];
  const user: string[] = [];
  for (const m of body.messages as unknown[]) {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof content !== 'string')
      return { ok: false, message: 'message content must be a string' };
    if (role === 'system') system.push(content);
    else if (role === 'user') user.push(content);
    else if (role !== 'assistant') return { ok: false, message: `unknown role ${String(role)}` };
  }
  // One system turn and one user turn: the backend's request has no multi-turn history.
  return { ok: true, prompt: user.join('\n\n'), systemPrompt: system.join('\n\n'), ...common };
}

const encoder = new TextEncoder();
const sse = (data: string) => encoder.encode(`data: ${data}\n\n`);

function finishReason(g: LlmGeneration): string {
  return g.stopReason === 'max_tokens' ? 'length' : 'stop';
}

/** Starts the server on 127.0.0.1 with a free port. */
export async function startOpenAiTestServer(
  options: OpenAiTestServerOptions = {},
): Promise<OpenAiTestServer> {
  let fault: OpenAiTestFault = options.fault ?? 'none';
  const backend = options.backend ?? new NodeLlamaBackend();
  const path = options.modelPath ?? (await ensureModel('tiny'));
  const loaded = await backend.load({
    path,
    settings: { contextSize: 1024, threads: 1, sequences: options.sequences ?? 2 },
  });
  if (!loaded.ok) throw new Error(`test server model: ${loaded.error.message}`);
  const model: LoadedLlmModel = loaded.value;
  let nextId = 1;

  // Loaded here, not at the top: the package entry re-exports this server, and hosts that
  // import the entry for the backend should not load a web framework they never start.
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.get('/v1/models', (c) =>
    c.json({
      object: 'list',
      data: [{ id: OPENAI_TEST_MODEL, object: 'model', owned_by: 'patchbay' }],
    }),
  );

  const complete = (kind: 'chat' | 'text') => async (c: Context<{ Bindings: HttpBindings }>) => {
    if (fault === 'error_500') {
      return c.json(
        { error: { message: 'the test server was told to fail', type: 'server_error', code: 500 } },
        500,
      );
    }
    const raw = (await c.req.json().catch(() => undefined)) as CompletionBody | undefined;
    const parsed =
      raw && typeof raw === 'object'
        ? parseBody(kind, raw)
        : ({ ok: false, message: 'body must be a JSON object' } as const);
    if (!parsed.ok) {
      return c.json({ error: { message: parsed.message, type: 'invalid_request_error' } }, 400);
    }
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${nextId++}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === 'chat' ? 'chat.completion' : 'text_completion';
    const request = {
      prompt: parsed.prompt,
      ...(parsed.systemPrompt !== undefined ? { systemPrompt: parsed.systemPrompt } : {}),
      maxTokens: parsed.maxTokens,
      temperature: parsed.temperature,
      ...(parsed.seed !== undefined ? { seed: parsed.seed } : {}),
    };

    if (!parsed.stream) {
      const r = await model.generate({
        ...request,
        onChunk: () => {},
        signal: createStop().signal,
      });
      if (!r.ok) return c.json({ error: { message: r.error.message, type: 'server_error' } }, 500);
      const g = r.value;
      const choice =
        kind === 'chat'
          ? {
              index: 0,
              message: { role: 'assistant', content: g.text },
              finish_reason: finishReason(g),
            }
          : { index: 0, text: g.text, finish_reason: finishReason(g) };
      return c.json({
        id,
        object,
        created,
        model: OPENAI_TEST_MODEL,
        choices: [choice],
        usage: { prompt_tokens: 0, completion_tokens: g.tokens, total_tokens: g.tokens },
      });
    }

    const stop = createStop();
    const mode = fault;
    const event = (content: string | undefined, finish: string | null) => {
      const choice =
        kind === 'chat'
          ? { index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }
          : { index: 0, text: content ?? '', finish_reason: finish };
      return JSON.stringify({
        id,
        object: `${object}.chunk`,
        created,
        model: OPENAI_TEST_MODEL,
        choices: [choice],
      });
    };
    // False once the client went away or the connection was cut: nothing more is written.
    let open = true;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let sent = 0;
        if (kind === 'chat') {
          controller.enqueue(
            sse(
              JSON.stringify({
                id,
                object: 'chat.completion.chunk',
                created,
                model: OPENAI_TEST_MODEL,
                choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }],
              }),
            ),
          );
        }
        void model
          .generate({
            ...request,
            signal: stop.signal,
            onChunk: (text) => {
              if (!open) return;
              // Cut when the third piece is due, so the first two had their own writes.
              if (mode === 'close_mid_stream' && sent === 2) {
                open = false;
                stop.stop();
                c.env.outgoing.socket?.destroy();
                return;
              }
              controller.enqueue(sse(event(text, null)));
              sent++;
              if (mode === 'malformed_sse' && sent === 1) {
                controller.enqueue(encoder.encode('data: {"choices": [{"delta": {"content": \n\n'));
              }
            },
          })
          .then((r) => {
            if (!open) return;
            if (r.ok) {
              controller.enqueue(sse(event(undefined, finishReason(r.value))));
              controller.enqueue(sse('[DONE]'));
            } else {
              controller.enqueue(
                sse(JSON.stringify({ error: { message: r.error.message, type: 'server_error' } })),
              );
            }
            controller.close();
          })
          .catch(() => {});
      },
      cancel() {
        // The client went away: stop generating for it.
        open = false;
        stop.stop();
      },
    });
    return new Response(stream, {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    });
  };

  app.post('/v1/chat/completions', complete('chat'));
  app.post('/v1/completions', complete('text'));

  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve({ server: s, port: info.port }),
      );
    },
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    setFault(next) {
      fault = next;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      await model.dispose();
    },
  };
}
