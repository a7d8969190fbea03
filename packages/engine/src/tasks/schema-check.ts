/**
 * A structural check of a JSON Schema before it is used: @cfworker/json-schema validates
 * instances but accepts any object as a schema, so a typo (`type: "strnig"`) would silently match
 * nothing. Returns the first problem with its JSON pointer, or undefined.
 */
const TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'integer', 'string']);
const SCHEMA_KEYS = ['not', 'if', 'then', 'else', 'additionalProperties', 'contains'];
const SCHEMA_MAP_KEYS = ['properties', 'patternProperties', '$defs', 'definitions'];
const SCHEMA_LIST_KEYS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const COUNT_KEYS = [
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
];
const NUMBER_KEYS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];

export function checkJsonSchema(schema: unknown, at = '#'): string | undefined {
  if (typeof schema === 'boolean') return undefined;
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    return `${at}: a schema is an object or a boolean`;
  }
  const s = schema as Record<string, unknown>;
  if ('type' in s) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    for (const t of types) {
      if (typeof t !== 'string' || !TYPES.has(t)) {
        return `${at}/type: unknown type ${JSON.stringify(t)} (use ${[...TYPES].join(', ')})`;
      }
    }
  }
  if ('required' in s) {
    if (!Array.isArray(s.required) || !s.required.every((r) => typeof r === 'string')) {
      return `${at}/required: a list of property names`;
    }
  }
  if ('enum' in s && !Array.isArray(s.enum)) return `${at}/enum: a list of values`;
  if ('pattern' in s) {
    if (typeof s.pattern !== 'string') return `${at}/pattern: a regular expression string`;
    try {
      new RegExp(s.pattern, 'u');
    } catch {
      return `${at}/pattern: not a valid regular expression`;
    }
  }
  for (const k of COUNT_KEYS) {
    if (k in s && !(Number.isInteger(s[k]) && (s[k] as number) >= 0)) {
      return `${at}/${k}: a non-negative integer`;
    }
  }
  for (const k of NUMBER_KEYS) {
    if (k in s && typeof s[k] !== 'number') return `${at}/${k}: a number`;
  }
  for (const k of SCHEMA_KEYS) {
    if (k in s) {
      const p = checkJsonSchema(s[k], `${at}/${k}`);
      if (p) return p;
    }
  }
  if ('items' in s) {
    const items = s.items;
    const list = Array.isArray(items) ? items : [items];
    for (const [i, item] of list.entries()) {
      const p = checkJsonSchema(item, Array.isArray(items) ? `${at}/items/${i}` : `${at}/items`);
      if (p) return p;
    }
  }
  for (const k of SCHEMA_MAP_KEYS) {
    if (!(k in s)) continue;
    const map = s[k];
    if (map === null || typeof map !== 'object' || Array.isArray(map)) {
      return `${at}/${k}: a map of name → schema`;
    }
    for (const [name, sub] of Object.entries(map)) {
      const p = checkJsonSchema(sub, `${at}/${k}/${name}`);
      if (p) return p;
    }
  }
  for (const k of SCHEMA_LIST_KEYS) {
    if (!(k in s)) continue;
    const list = s[k];
    if (!Array.isArray(list) || list.length === 0) return `${at}/${k}: a non-empty list of schemas`;
    for (const [i, sub] of list.entries()) {
      const p = checkJsonSchema(sub, `${at}/${k}/${i}`);
      if (p) return p;
    }
  }
  return undefined;
}
