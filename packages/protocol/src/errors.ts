/** Stable error codes shared by every package and by the wire (`{type:'error', code, message}`). */
export const ErrorCode = {
  // request shape
  bad_request: 'bad_request',
  bad_message: 'bad_message',
  frame_too_large: 'frame_too_large',
  // pipeline model
  unknown_kind: 'unknown_kind',
  bad_params: 'bad_params',
  unknown_node: 'unknown_node',
  duplicate_node: 'duplicate_node',
  self_reference: 'self_reference',
  cycle: 'cycle',
  unknown_pin: 'unknown_pin',
  pin_type_mismatch: 'pin_type_mismatch',
  pin_in_use: 'pin_in_use',
  duplicate_connection: 'duplicate_connection',
  unknown_connection: 'unknown_connection',
  node_failed: 'node_failed',
  node_stopped: 'node_stopped',
  bad_yaml: 'bad_yaml',
  // policy
  oneshot_only: 'oneshot_only',
  kind_not_allowed: 'kind_not_allowed',
  path_not_allowed: 'path_not_allowed',
  // lifecycle
  illegal_transition: 'illegal_transition',
  engine_shut_down: 'engine_shut_down',
  batch_rejected: 'batch_rejected',
  run_failed: 'run_failed',
  // task nodes and inference (X3, X4)
  model_not_found: 'model_not_found',
  model_invalid: 'model_invalid',
  model_load_failed: 'model_load_failed',
  inference_failed: 'inference_failed',
  upstream_failed: 'upstream_failed',
  json_invalid: 'json_invalid',
  schema_mismatch: 'schema_mismatch',
  cancelled: 'cancelled',
  // server: auth, roles, storage
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  read_only: 'read_only',
  storage_failed: 'storage_failed',
  // lookup
  not_found: 'not_found',
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The one error class: a stable `code`, a human message, and an optional `cause`. */
export class PatchbayError extends Error {
  readonly code: ErrorCode;
  /** The node the problem is about, when there is one. */
  readonly node: string | undefined;
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; node?: string } = {}) {
    super(message, { cause: options.cause });
    this.name = 'PatchbayError';
    this.code = code;
    this.node = options.node;
  }
}

/** A plain, serialisable problem report (wire and validation lists). */
export interface Problem {
  code: ErrorCode;
  message: string;
  node?: string;
}

/** Expected failures are values, not exceptions. */
export type Result<T, E = Problem> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<E = Problem>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

export function problem(code: ErrorCode, message: string, node?: string): Problem {
  return node === undefined ? { code, message } : { code, message, node };
}

/** For `default:` branches over closed unions: a compile error if a case is missing. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
