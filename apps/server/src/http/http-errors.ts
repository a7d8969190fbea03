/**
 * HTTP errors: every error body is `{error: {code, message, node?, problems?}}` with a status
 * chosen from the code here, in one place.
 */
import type { ErrorCode, Problem } from '@patchbay/protocol';

/** The status for an error code. */
export function statusOf(code: ErrorCode): 400 | 401 | 403 | 404 | 409 | 413 | 422 | 500 | 503 {
  switch (code) {
    case 'bad_request':
    case 'bad_message':
    case 'bad_yaml':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
    case 'read_only':
    case 'kind_not_allowed':
    case 'path_not_allowed':
      return 403;
    case 'not_found':
      return 404;
    case 'duplicate_node':
    case 'duplicate_connection':
    case 'pin_in_use':
      return 409;
    case 'frame_too_large':
      return 413;
    case 'engine_shut_down':
    case 'storage_failed':
      return 503;
    case 'internal':
      return 500;
    default:
      // Pipeline validation and run failures: the request was understood but cannot run.
      return 422;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; node?: string; problems?: Problem[] };
}

/** The JSON body for one problem, or for several (the first one leads, all are listed). */
export function errorBody(problems: Problem | readonly Problem[]): ErrorBody {
  const list = Array.isArray(problems) ? (problems as readonly Problem[]) : [problems as Problem];
  const first = list[0] ?? { code: 'internal' as const, message: 'failed without a reason' };
  const body: ErrorBody = { error: { code: first.code, message: first.message } };
  if (first.node !== undefined) body.error.node = first.node;
  if (list.length > 1 || Array.isArray(problems)) body.error.problems = list.map((p) => ({ ...p }));
  return body;
}
