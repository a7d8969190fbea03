import { ErrorCodeSchema, err, ok } from '@patchbay/protocol';
import type { Problem, Result } from '@patchbay/protocol';
import { readToken } from './token';

/** A failed HTTP call: the server's `{error: {code, message, node?, problems?}}`, or a transport failure. */
export interface ApiProblem extends Problem {
  readonly problems?: readonly Problem[];
  readonly status?: number;
}

/** Read the server's error body into a problem; anything unexpected becomes `internal`. */
export function problemOfBody(body: unknown, status: number): ApiProblem {
  const e = (body as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  const code = ErrorCodeSchema.safeParse(e?.code);
  if (e && code.success && typeof e.message === 'string') {
    const out: ApiProblem = { code: code.data, message: e.message, status };
    const node = typeof e.node === 'string' ? e.node : undefined;
    const problems = Array.isArray(e.problems) ? (e.problems as Problem[]) : undefined;
    return { ...out, ...(node ? { node } : {}), ...(problems ? { problems } : {}) };
  }
  return { code: 'internal', message: `the server answered ${status}`, status };
}

/** Call the HTTP API with the user's token; JSON in and out unless `text` is asked for. */
export async function apiFetch<T = unknown>(
  path: string,
  init: RequestInit & { text?: boolean } = {},
): Promise<Result<T, ApiProblem>> {
  const headers = new Headers(init.headers);
  const token = readToken();
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers });
  } catch (e) {
    return err({ code: 'internal', message: `the server is unreachable (${String(e)})` });
  }
  const raw = await res.text();
  if (!res.ok) {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    return err(problemOfBody(body, res.status));
  }
  if (init.text) return ok(raw as T);
  if (raw === '') return ok(undefined as T);
  try {
    return ok(JSON.parse(raw) as T);
  } catch {
    return err({ code: 'bad_message', message: 'the server answered with invalid JSON' });
  }
}
