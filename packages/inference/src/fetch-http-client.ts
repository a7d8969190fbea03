/**
 * `HttpClient` over Node's global `fetch` (outbound calls of `llm::openai`).
 */
import { err, ok, PatchbayError, problem } from '@patchbay/protocol';
import type { ErrorCode, Result } from '@patchbay/protocol';
import type { HttpClient, HttpResponse, StopSignal } from '@patchbay/engine';
import { abortSignalFor } from './stop-signal';

type HttpRequest = Parameters<HttpClient['request']>[0];

function fail<T>(code: ErrorCode, message: string): Result<T> {
  return err(problem(code, message));
}

/** The most specific reason fetch gives: undici puts the socket error in `cause`. */
function reason(e: unknown): string {
  const cause = (e as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof AggregateError && cause.errors.length > 0)
    return reason({ cause: cause.errors[0] });
  if (cause && typeof cause === 'object') {
    const c = cause as { code?: unknown; message?: unknown };
    if (typeof c.code === 'string' && typeof c.message === 'string')
      return `${c.code}: ${c.message}`;
    if (typeof c.message === 'string') return c.message;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * Sends requests with `fetch`. A refused connection, a DNS failure or a reset before the
 * response headers is `upstream_failed` naming the URL; a bad URL is `bad_request`; a stop
 * before the headers is `cancelled`. Any status is a response (the caller decides what a 500
 * means). The body streams as it arrives: a stop ends the iteration quietly, a connection that
 * breaks mid-body throws a `PatchbayError` with code `upstream_failed`.
 */
export class FetchHttpClient implements HttpClient {
  private readonly fetchImpl: typeof fetch;

  constructor(options: { fetch?: typeof fetch } = {}) {
    this.fetchImpl = options.fetch ?? globalThis.fetch;
  }

  async request(request: HttpRequest): Promise<Result<HttpResponse>> {
    const { method, url, headers, body, signal } = request;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return fail('bad_request', `not a valid URL: ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      return fail('bad_request', `only http and https URLs are supported, got ${parsed.protocol}`);
    }
    if (signal?.stopped) return fail('cancelled', `request to ${url} was cancelled`);
    const abort = abortSignalFor(signal);
    let response: Response;
    try {
      response = await this.fetchImpl(parsed, {
        method,
        ...(headers ? { headers } : {}),
        ...(body !== undefined ? { body } : {}),
        signal: abort.signal,
      });
    } catch (e) {
      abort.dispose();
      if (signal?.stopped) return fail('cancelled', `request to ${url} was cancelled`);
      return fail('upstream_failed', `request to ${url} failed: ${reason(e)}`);
    }
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, key) => (responseHeaders[key] = value));
    return ok({
      status: response.status,
      headers: responseHeaders,
      body: bodyChunks(response, url, signal, abort.dispose),
    });
  }
}

async function* bodyChunks(
  response: Response,
  url: string,
  signal: StopSignal | undefined,
  done: () => void,
): AsyncGenerator<Uint8Array> {
  if (!response.body) {
    done();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (signal?.stopped) return;
        throw new PatchbayError('upstream_failed', `response from ${url} broke off: ${reason(e)}`, {
          cause: e,
        });
      }
      if (chunk.done) return;
      yield chunk.value;
    }
  } finally {
    // Reached on the end, a throw, or a consumer that stops iterating early.
    reader.cancel().catch(() => {});
    done();
  }
}
