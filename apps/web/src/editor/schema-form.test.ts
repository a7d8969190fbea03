import { describe, expect, it } from 'vitest';
import { checkValue } from './json-schema';
import { coerceInput, fieldOf, formFields, niceStep, valueAt } from './schema-form';
import type { FormField } from './schema-form';

const compositorSchema = {
  type: 'object',
  properties: {
    width: { default: 1280, type: 'integer', minimum: 1, maximum: 7680 },
    fps: { default: 30, type: 'number', exclusiveMinimum: 0, maximum: 240 },
    output_format: { default: 'rgba', type: 'string', enum: ['rgba', 'i420'] },
    label: { type: 'string' },
    live: { type: 'boolean', default: true },
    seed: { type: 'integer', minimum: 0, maximum: 9007199254740991 },
    background: {
      type: 'object',
      properties: { r: { type: 'integer', minimum: 0, maximum: 255 } },
    },
    layers: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { opacity: { type: 'number', minimum: 0, maximum: 1 } },
      },
    },
    json_schema: {},
    note: { anyOf: [{ type: 'string' }, { type: 'null' }] },
  },
  required: ['width'],
};

function byLabel(fields: readonly FormField[], label: string): FormField {
  const f = fields.find((x) => x.label === label);
  if (!f) throw new Error(`no field ${label}`);
  return f;
}

describe('schema → form fields', () => {
  const fields = formFields(compositorSchema, { layers: { in_1: {}, in_0: {} } });

  it('a bounded number becomes a slider with a number box', () => {
    const width = byLabel(fields, 'width');
    expect(width).toMatchObject({
      control: 'number',
      integer: true,
      min: 1,
      max: 7680,
      slider: true,
    });
    expect(width.required).toBe(true);
    const fps = byLabel(fields, 'fps');
    expect(fps).toMatchObject({
      control: 'number',
      integer: false,
      min: 0,
      max: 240,
      slider: true,
    });
  });

  it('a number with a huge range gets a number box only', () => {
    expect(byLabel(fields, 'seed')).toMatchObject({ control: 'number', slider: false });
  });

  it('boolean → toggle, enum → select, string → text, unknown → JSON', () => {
    expect(byLabel(fields, 'live').control).toBe('boolean');
    expect(byLabel(fields, 'output_format')).toMatchObject({
      control: 'enum',
      options: ['rgba', 'i420'],
    });
    expect(byLabel(fields, 'label').control).toBe('string');
    expect(byLabel(fields, 'json_schema').control).toBe('json');
    expect(byLabel(fields, 'note').control).toBe('string');
  });

  it('nested objects become fieldsets with full param paths', () => {
    const bg = byLabel(fields, 'background');
    expect(bg.control).toBe('object');
    if (bg.control !== 'object') return;
    expect(bg.fields[0]).toMatchObject({ path: ['background', 'r'], control: 'number' });
  });

  it('a map param shows one fieldset per existing entry, sorted', () => {
    const layers = byLabel(fields, 'layers');
    expect(layers.control).toBe('map');
    if (layers.control !== 'map') return;
    expect(layers.entries.map((e) => e.path)).toEqual([
      ['layers', 'in_0'],
      ['layers', 'in_1'],
    ]);
    const first = layers.entries[0];
    expect(first?.control).toBe('object');
    if (first?.control !== 'object') return;
    expect(first.fields[0]?.path).toEqual(['layers', 'in_0', 'opacity']);
  });
});

describe('typed input → param value', () => {
  const width = fieldOf({ type: 'integer', minimum: 1, maximum: 7680 }, ['width'], true, 1);
  const gain = fieldOf({ type: 'number', minimum: 0, maximum: 64 }, ['gain'], false, 1);

  it('accepts values inside the bounds', () => {
    expect(coerceInput(width, '640')).toEqual({ ok: true, value: 640 });
    expect(coerceInput(gain, '0.5')).toEqual({ ok: true, value: 0.5 });
  });

  it('refuses out-of-range, fractional integers and non-numbers with a message', () => {
    expect(coerceInput(width, '0')).toMatchObject({ ok: false });
    expect(coerceInput(width, '1.5')).toMatchObject({ ok: false });
    expect(coerceInput(gain, 'abc')).toMatchObject({ ok: false });
    expect(coerceInput(gain, '65')).toMatchObject({ ok: false });
  });

  it('empty text clears an optional param and is refused for a required one', () => {
    expect(coerceInput(gain, '')).toEqual({ ok: true, value: undefined });
    expect(coerceInput(width, '')).toMatchObject({ ok: false });
  });

  it('enum values must be one of the options; JSON must parse', () => {
    const e = fieldOf({ type: 'string', enum: ['a', 'b'] }, ['m'], false, 'a');
    expect(coerceInput(e, 'b')).toEqual({ ok: true, value: 'b' });
    expect(coerceInput(e, 'c')).toMatchObject({ ok: false });
    const j = fieldOf({}, ['j'], false, undefined);
    expect(coerceInput(j, '{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(coerceInput(j, '{a')).toMatchObject({ ok: false });
  });

  it('slider steps are 1, 2 or 5 × 10ⁿ', () => {
    expect(niceStep(1)).toBe(0.001);
    expect(niceStep(240)).toBe(0.5);
    expect(niceStep(64)).toBe(0.1);
  });

  it('reads nested values by path', () => {
    expect(valueAt({ a: { b: 2 } }, ['a', 'b'])).toBe(2);
    expect(valueAt({ a: 1 }, ['a', 'b'])).toBeUndefined();
  });
});

describe('JSON Schema checks (YAML import on the client)', () => {
  it('reports the first bad param by path', () => {
    expect(checkValue({ width: 640 }, compositorSchema)).toBeUndefined();
    expect(checkValue({ width: 0 }, compositorSchema)).toMatch(/^width: must be ≥ 1/);
    expect(checkValue({}, compositorSchema)).toMatch(/width is required/);
    expect(checkValue({ width: 2, layers: { in_0: { opacity: 2 } } }, compositorSchema)).toMatch(
      /^layers\.in_0\.opacity/,
    );
    expect(checkValue({ width: 2, output_format: 'x' }, compositorSchema)).toMatch(/one of/);
  });

  it('refuses unknown keys only when the schema closes the object', () => {
    const closed = { type: 'object', properties: { a: {} }, additionalProperties: false };
    expect(checkValue({ b: 1 }, closed)).toMatch(/b: unknown param/);
    expect(checkValue({ b: 1 }, { type: 'object', properties: { a: {} } })).toBeUndefined();
  });
});
