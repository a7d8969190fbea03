import { z } from 'zod';
import { Validator } from '@cfworker/json-schema';
import type { Schema } from '@cfworker/json-schema';
import { err, ok, problem } from '@patchbay/protocol';
import { followJsonPath, parseJsonPath } from '../json-path';
import { checkJsonSchema } from '../schema-check';
import { defineTaskNode } from '../task-api';
import { asJson } from './task-values';

export const jsonFilterNode = defineTaskNode({
  kind: 'json::filter',
  description:
    'Picks a value out of JSON by a path such as a.b[0].c (text input is parsed as JSON first).',
  params: z.object({
    path: z
      .string()
      .default('')
      .superRefine((path, ctx) => {
        const parsed = parseJsonPath(path);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
      }),
  }),
  pins: () => ({
    inputs: [{ name: 'in', type: 'any' }],
    outputs: [{ name: 'out', type: 'json' }],
  }),
  execute: (inputs, ctx) => {
    const steps = parseJsonPath(ctx.params.path);
    if (!steps.ok) return err(problem('bad_params', steps.error, ctx.nodeId));
    const value = asJson(inputs.in, ctx.nodeId, ctx.inputTypes.in);
    if (!value.ok) return value;
    const found = followJsonPath(value.value, steps.value);
    if (!found.ok) {
      return err(
        problem(found.error.code, `path ${ctx.params.path}: ${found.error.message}`, ctx.nodeId),
      );
    }
    return ok({ out: found.value });
  },
});

/** Validation errors shown in a failure, at most. */
const MAX_REPORTED_ERRORS = 5;

export const jsonValidatorNode = defineTaskNode({
  kind: 'json::validator',
  description:
    'Passes its input on when it matches a JSON Schema (2020-12); otherwise fails with every mismatch.',
  params: z.object({
    schema: z
      .unknown()
      .default({})
      .superRefine((schema, ctx) => {
        const problemText = checkJsonSchema(schema);
        if (problemText)
          ctx.addIssue({ code: 'custom', message: `invalid schema: ${problemText}` });
      }),
  }),
  pins: () => ({
    inputs: [{ name: 'in', type: 'any' }],
    outputs: [{ name: 'out', type: 'json' }],
  }),
  execute: (inputs, ctx) => {
    const value = asJson(inputs.in, ctx.nodeId, ctx.inputTypes.in);
    if (!value.ok) return value;
    const validator = new Validator(ctx.params.schema as Schema | boolean, '2020-12', false);
    const result = validator.validate(value.value);
    if (result.valid) return ok({ out: value.value });
    // The leaf errors say what is wrong; the wrapping ones only say that a keyword failed.
    const leaves = result.errors.filter(
      (e) => !/^(properties|items|allOf|anyOf|\$ref)$/.test(e.keyword),
    );
    const shown = (leaves.length > 0 ? leaves : result.errors)
      .slice(0, MAX_REPORTED_ERRORS)
      .map((e) => `${e.instanceLocation}: ${e.error}`);
    return err(
      problem(
        'schema_mismatch',
        `input does not match the schema: ${shown.join('; ')}`,
        ctx.nodeId,
      ),
    );
  },
});
