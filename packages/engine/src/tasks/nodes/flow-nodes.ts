import { z } from 'zod';
import { familyIndex, ok } from '@patchbay/protocol';
import { defineTaskNode } from '../task-api';
import { stableStringify } from '../version-hash';
import { toText } from './task-values';

const OPERATORS = ['truthy', 'equals', 'not_equals', 'contains', 'matches'] as const;

const ConditionalParams = z
  .object({
    operator: z.enum(OPERATORS).default('truthy'),
    /** Compared with the tested value (`equals`, `not_equals`, `contains`, `matches`). */
    value: z.unknown().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.operator === 'truthy') return;
    if (p.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${p.operator} needs a value` });
      return;
    }
    if (p.operator === 'matches') {
      try {
        new RegExp(toText(p.value));
      } catch {
        ctx.addIssue({
          code: 'custom',
          path: ['value'],
          message: 'not a valid regular expression',
        });
      }
    }
  });
type ConditionalParams = z.infer<typeof ConditionalParams>;

/** Strings that mean "no" to `truthy` (what a model or a form tends to answer). */
const FALSY_TEXT = new Set(['', 'false', '0', 'no', 'null', 'off']);

export function testCondition(p: ConditionalParams, tested: unknown): boolean {
  switch (p.operator) {
    case 'truthy':
      return typeof tested === 'string' ? !FALSY_TEXT.has(tested.trim().toLowerCase()) : !!tested;
    case 'equals':
    case 'not_equals': {
      const same =
        typeof tested === 'string' && typeof p.value !== 'string'
          ? tested.trim() === toText(p.value)
          : stableStringify(tested) === stableStringify(p.value);
      return p.operator === 'equals' ? same : !same;
    }
    case 'contains':
      return Array.isArray(tested)
        ? tested.some((t) => stableStringify(t) === stableStringify(p.value))
        : toText(tested).includes(toText(p.value));
    case 'matches':
      return new RegExp(toText(p.value)).test(toText(tested));
    default: {
      const never: never = p.operator;
      throw new Error(`unhandled operator ${String(never)}`);
    }
  }
}

export const conditionalNode = defineTaskNode({
  kind: 'flow::conditional',
  description:
    'Routes its input to the `true` or the `false` output; the branch not taken is pruned: nodes fed only by it are skipped, never run with an empty value.',
  params: ConditionalParams,
  pins: () => ({
    inputs: [
      {
        name: 'in',
        type: 'any',
        description: 'The value routed (and tested, unless `condition` is connected).',
      },
      { name: 'condition', type: 'any', description: 'Tested instead of `in` when connected.' },
    ],
    outputs: [
      { name: 'true', type: 'any' },
      { name: 'false', type: 'any' },
    ],
  }),
  execute: (inputs, ctx) => {
    const tested = 'condition' in inputs ? inputs.condition : inputs.in;
    const branch = testCondition(ctx.params, tested) ? 'true' : 'false';
    return ok({ [branch]: inputs.in });
  },
});

export const mergeNode = defineTaskNode({
  kind: 'flow::merge',
  description:
    'Collects every edge into its `in` pins as one list, in edge order; inputs on a pruned branch are left out (skipped only when all are).',
  params: z.object({}),
  pins: () => ({
    inputs: [{ name: 'in_', type: 'any', family: true }],
    outputs: [{ name: 'out', type: 'json' }],
  }),
  acceptsPruned: true,
  execute: (inputs) => {
    const pins = Object.keys(inputs)
      .filter((k) => familyIndex(k) !== undefined)
      .sort((a, b) => familyIndex(a)! - familyIndex(b)!);
    return ok({ out: pins.map((k) => inputs[k]) });
  },
});
