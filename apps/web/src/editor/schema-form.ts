/**
 * The inspector's form, generated from a node kind's params JSON Schema: number with both
 * bounds → slider + number box, boolean → toggle, enum → select, string → text, nested object →
 * fieldset, map (`additionalProperties`) → one fieldset per existing entry, anything else → JSON.
 */
import { asSchema, unwrapSchema } from './json-schema';
import type { JsonSchema } from './json-schema';

interface FieldBase {
  /** Param path under the node's params (`['layers', 'in_1', 'opacity']`). */
  readonly path: readonly string[];
  readonly label: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly required: boolean;
}

export type FormField =
  | (FieldBase & {
      readonly control: 'number';
      readonly integer: boolean;
      readonly min?: number;
      readonly max?: number;
      /** Both bounds are finite and the range is one a slider can show. */
      readonly slider: boolean;
      readonly step: number;
    })
  | (FieldBase & { readonly control: 'boolean' })
  | (FieldBase & { readonly control: 'enum'; readonly options: readonly string[] })
  | (FieldBase & { readonly control: 'string' })
  | (FieldBase & { readonly control: 'object'; readonly fields: readonly FormField[] })
  | (FieldBase & {
      readonly control: 'map';
      readonly entries: readonly FormField[];
      readonly valueSchema: JsonSchema;
    })
  | (FieldBase & { readonly control: 'json' });

/** The widest numeric range still shown as a slider (wider ranges get a number box only). */
export const SLIDER_MAX_SPAN = 1_000_000;

/** The form fields of an object schema; `value` supplies the entries of map-valued params. */
export function formFields(
  rawSchema: unknown,
  value: unknown = {},
  path: readonly string[] = [],
): FormField[] {
  const schema = unwrapSchema(asSchema(rawSchema));
  const required = new Set(schema.required ?? []);
  const current = isRecord(value) ? value : {};
  return Object.entries(schema.properties ?? {}).map(([key, prop]) =>
    fieldOf(prop, [...path, key], required.has(key), current[key]),
  );
}

/** The field for one param. */
export function fieldOf(
  rawSchema: JsonSchema,
  path: readonly string[],
  required: boolean,
  value: unknown,
): FormField {
  const schema = unwrapSchema(rawSchema);
  const base: FieldBase = {
    path,
    label: schema.title ?? path[path.length - 1] ?? '',
    required,
    ...(schema.description !== undefined ? { description: schema.description } : {}),
    ...(schema.default !== undefined ? { default: schema.default } : {}),
  };
  if (schema.enum && schema.enum.length > 0 && schema.enum.every((e) => typeof e === 'string')) {
    return { ...base, control: 'enum', options: schema.enum as string[] };
  }
  const type = typeof schema.type === 'string' ? schema.type : undefined;
  switch (type) {
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? schema.exclusiveMinimum;
      const max = schema.maximum ?? schema.exclusiveMaximum;
      const integer = type === 'integer';
      const slider =
        min !== undefined &&
        max !== undefined &&
        Number.isFinite(min) &&
        Number.isFinite(max) &&
        max > min &&
        max - min <= SLIDER_MAX_SPAN;
      const step = integer ? 1 : slider ? niceStep((max as number) - (min as number)) : 0.01;
      return {
        ...base,
        control: 'number',
        integer,
        slider,
        step,
        ...(min !== undefined ? { min } : {}),
        ...(max !== undefined ? { max } : {}),
      };
    }
    case 'boolean':
      return { ...base, control: 'boolean' };
    case 'string':
      return { ...base, control: 'string' };
    case 'object': {
      if (schema.properties) {
        return { ...base, control: 'object', fields: formFields(schema, value, path) };
      }
      if (typeof schema.additionalProperties === 'object') {
        const valueSchema = schema.additionalProperties;
        const current = isRecord(value) ? value : {};
        const entries = Object.keys(current)
          .sort()
          .map((k) => fieldOf(valueSchema, [...path, k], false, current[k]));
        return { ...base, control: 'map', entries, valueSchema };
      }
      return { ...base, control: 'json' };
    }
    default:
      return { ...base, control: 'json' };
  }
}

/** A slider step giving about a thousand positions over `span`, rounded to 1, 2 or 5 × 10ⁿ. */
export function niceStep(span: number): number {
  const raw = span / 1000;
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  const m = raw / base;
  const nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
  return Number((nice * base).toPrecision(1));
}

/**
 * Turn what the user typed into a param value for `field`, or a message saying why not.
 * Empty text clears an optional param (`undefined`), so its default applies again.
 */
export function coerceInput(
  field: FormField,
  input: string | boolean,
): { ok: true; value: unknown } | { ok: false; message: string } {
  switch (field.control) {
    case 'boolean':
      return typeof input === 'boolean'
        ? { ok: true, value: input }
        : { ok: true, value: input === 'true' };
    case 'number': {
      const text = String(input).trim();
      if (text === '') return clearOrRequired(field);
      const n = Number(text);
      if (!Number.isFinite(n)) return { ok: false, message: `${field.label}: not a number` };
      if (field.integer && !Number.isInteger(n))
        return { ok: false, message: `${field.label}: must be a whole number` };
      if (field.min !== undefined && n < field.min)
        return { ok: false, message: `${field.label}: must be ≥ ${field.min}` };
      if (field.max !== undefined && n > field.max)
        return { ok: false, message: `${field.label}: must be ≤ ${field.max}` };
      return { ok: true, value: n };
    }
    case 'enum': {
      const text = String(input);
      if (text === '') return clearOrRequired(field);
      return field.options.includes(text)
        ? { ok: true, value: text }
        : { ok: false, message: `${field.label}: expected one of ${field.options.join(', ')}` };
    }
    case 'string':
      return { ok: true, value: String(input) };
    case 'object':
    case 'map':
    case 'json': {
      const text = String(input).trim();
      if (text === '') return clearOrRequired(field);
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, message: `${field.label}: not valid JSON` };
      }
    }
  }
}

function clearOrRequired(
  field: FormField,
): { ok: true; value: unknown } | { ok: false; message: string } {
  return field.required
    ? { ok: false, message: `${field.label}: required` }
    : { ok: true, value: undefined };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at `path` inside `params`, or undefined. */
export function valueAt(params: unknown, path: readonly string[]): unknown {
  let v: unknown = params;
  for (const key of path) {
    if (!isRecord(v) || !Object.hasOwn(v, key)) return undefined;
    v = v[key];
  }
  return v;
}
