/**
 * The small part of JSON Schema (draft 2020-12, as the server's `/api/v1/nodes` emits it from
 * zod) the studio reads: types, bounds, enums, defaults, nested objects and maps.
 */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: JsonSchema | boolean;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly description?: string;
  readonly title?: string;
}

/** `schema` if it is an object, else an empty (accept-anything) schema. */
export function asSchema(value: unknown): JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonSchema)
    : {};
}

/** The schema with `anyOf`/`oneOf` of one real branch (plus `null`) collapsed to that branch. */
export function unwrapSchema(schema: JsonSchema): JsonSchema {
  const branches = schema.anyOf ?? schema.oneOf;
  if (!branches) return schema;
  const real = branches.filter((b) => b.type !== 'null');
  if (real.length !== 1) return schema;
  const { anyOf: _a, oneOf: _o, ...rest } = schema;
  return { ...rest, ...(real[0] as JsonSchema) };
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: string, actual: string): boolean {
  return expected === actual || (expected === 'number' && actual === 'integer');
}

/**
 * Check `value` against `schema`; returns the first problem as `path: message`, or undefined.
 * Unknown keywords are ignored (the server validates fully; this catches mistakes early).
 */
export function checkValue(value: unknown, schema: JsonSchema, path = ''): string | undefined {
  const at = (msg: string): string => (path === '' ? msg : `${path}: ${msg}`);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches && branches.length > 0) {
    const fails = branches.map((b) => checkValue(value, b, path));
    if (fails.every((f) => f !== undefined)) return fails[0];
  }
  if (schema.type !== undefined) {
    const types = typeof schema.type === 'string' ? [schema.type] : schema.type;
    const actual = typeOf(value);
    if (!types.some((t) => typeMatches(t, actual))) return at(`expected ${types.join(' or ')}`);
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    return at(`expected one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      return at(`must be ≥ ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      return at(`must be ≤ ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
      return at(`must be > ${schema.exclusiveMinimum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum)
      return at(`must be < ${schema.exclusiveMaximum}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      return at(`must have at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      return at(`must have at most ${schema.maxLength} characters`);
  }
  if (Array.isArray(value) && schema.items) {
    for (let i = 0; i < value.length; i++) {
      const p = checkValue(value[i], schema.items, `${path}[${i}]`);
      if (p) return p;
    }
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!Object.hasOwn(obj, key)) return at(`${key} is required`);
    }
    for (const [key, v] of Object.entries(obj)) {
      const child = path === '' ? key : `${path}.${key}`;
      const prop = schema.properties?.[key];
      if (prop) {
        const p = checkValue(v, prop, child);
        if (p) return p;
      } else if (schema.additionalProperties === false) {
        return `${child}: unknown param`;
      } else if (typeof schema.additionalProperties === 'object') {
        const p = checkValue(v, schema.additionalProperties, child);
        if (p) return p;
      }
    }
  }
  return undefined;
}
