import { err, ok, problem } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';

/** One step of a path: an object key or an array index. */
export type PathStep = { key: string } | { index: number };

/**
 * Parses `a.b[0].c` (an optional leading `$`, `.name`, `[n]`, `["any key"]`). The error says
 * where the path went wrong, as a column.
 */
export function parseJsonPath(path: string): Result<PathStep[], string> {
  const steps: PathStep[] = [];
  let i = 0;
  const fail = (what: string) => err(`bad path "${path}" at column ${i + 1}: ${what}`);
  if (path.startsWith('$')) i = 1;
  const name = /[A-Za-z0-9_$-]/;
  let first = true;
  while (i < path.length) {
    const ch = path[i]!;
    if (ch === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) return fail('"[" without "]"');
      const inner = path.slice(i + 1, close);
      const quoted = /^"((?:[^"\\]|\\.)*)"$|^'([^']*)'$/.exec(inner);
      if (quoted) steps.push({ key: quoted[1] ?? quoted[2] ?? '' });
      else if (/^\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else return fail(`index must be a non-negative integer or a quoted key, not "${inner}"`);
      i = close + 1;
    } else {
      if (ch === '.') {
        if (first && i === 0) return fail('a path starts with a name, "$" or "["');
        i++;
      } else if (!first || (path.startsWith('$') && i === 1)) {
        return fail(`expected "." or "[", found "${ch}"`);
      }
      const start = i;
      while (i < path.length && name.test(path[i]!)) i++;
      if (i === start) return fail(i < path.length ? `unexpected "${path[i]}"` : 'empty name');
      steps.push({ key: path.slice(start, i) });
    }
    first = false;
  }
  return ok(steps);
}

/** Follows parsed steps; missing keys and indices out of range are `not_found` naming the place. */
export function followJsonPath(value: unknown, steps: readonly PathStep[]): Result<unknown> {
  let current = value;
  let at = '$';
  for (const step of steps) {
    if ('index' in step) {
      if (!Array.isArray(current)) {
        return err(problem('schema_mismatch', `${at} is ${describe(current)}, not an array`));
      }
      if (step.index >= current.length) {
        return err(
          problem(
            'not_found',
            `index ${step.index} is out of range at ${at} (length ${current.length})`,
          ),
        );
      }
      current = current[step.index];
      at = `${at}[${step.index}]`;
    } else {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) {
        return err(
          problem('schema_mismatch', `${at} is ${describe(current)}, not an object with keys`),
        );
      }
      if (!Object.hasOwn(current, step.key)) {
        return err(problem('not_found', `key "${step.key}" not found at ${at}`));
      }
      current = (current as Record<string, unknown>)[step.key];
      at = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(step.key)
        ? `${at}.${step.key}`
        : `${at}[${JSON.stringify(step.key)}]`;
    }
  }
  return ok(current);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
