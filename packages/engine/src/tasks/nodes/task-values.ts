import { err, ok, problem } from '@patchbay/protocol';
import type { ErrorCode, PinType, Result } from '@patchbay/protocol';
import type { EngineServices } from '../../node-api';

/** A value as text: strings as they are, everything else as JSON. */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value) ?? String(value);
}

/**
 * JSON input. From a `text` pin a string is JSON text and must parse; from a `json` pin it is
 * already a value (a JSON string stays a string); from an `any` pin a string is parsed when it
 * is JSON text and kept as a string otherwise.
 */
export function asJson(value: unknown, node: string, from: PinType = 'text'): Result<unknown> {
  if (typeof value !== 'string' || from === 'json') return ok(value);
  try {
    return ok(JSON.parse(value) as unknown);
  } catch (e) {
    if (from !== 'text') return ok(value);
    return err(
      problem(
        'json_invalid',
        `input is not JSON: ${e instanceof Error ? e.message : 'parse error'}`,
        node,
      ),
    );
  }
}

/** A host service, or a node failure saying the host lacks it. */
export function service<T>(
  services: EngineServices,
  key: string,
  code: ErrorCode,
  node: string,
  what: string,
): Result<T> {
  const s = services[key];
  if (s === undefined || s === null) {
    return err(problem(code, `this host provides no ${what} (service ${key})`, node));
  }
  return ok(s as T);
}

/** The node id added to a problem from a service, so failures name their node. */
export function onNode<T>(r: Result<T>, node: string): Result<T> {
  return r.ok || r.error.node !== undefined ? r : err({ ...r.error, node });
}
