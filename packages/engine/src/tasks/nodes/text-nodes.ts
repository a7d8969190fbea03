import { z } from 'zod';
import { err, ok, problem } from '@patchbay/protocol';
import { defineTaskNode } from '../task-api';
import { toText } from './task-values';

/** `{{name}}` slots of a template, in first-appearance order. */
export function templateSlots(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)) {
    if (!names.includes(m[1]!)) names.push(m[1]!);
  }
  return names;
}

export const textInputNode = defineTaskNode({
  kind: 'text::input',
  description: 'A fixed text, typed into the node: the start of a task chain.',
  params: z.object({ text: z.string().default('') }),
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'text' }] }),
  execute: (_inputs, ctx) => ok({ out: ctx.params.text }),
});

export const textOutputNode = defineTaskNode({
  kind: 'text::output',
  description: 'The result of a task chain as text (JSON values are serialised).',
  params: z.object({}),
  pins: () => ({
    inputs: [{ name: 'in', type: 'any' }],
    outputs: [{ name: 'out', type: 'text' }],
  }),
  execute: (inputs, ctx) =>
    'in' in inputs
      ? ok({ out: toText(inputs.in) })
      : err(problem('bad_request', `node ${ctx.nodeId}: nothing is connected to its input`)),
});

export const textTemplateNode = defineTaskNode({
  kind: 'text::template',
  description:
    'Fills {{name}} slots of a template from the input pins of the same names (one pin per slot).',
  params: z.object({ template: z.string().default('') }),
  pins: (p) => ({
    inputs: templateSlots(p.template).map((name) => ({ name, type: 'any' as const })),
    outputs: [{ name: 'out', type: 'text' }],
  }),
  execute: (inputs, ctx) => {
    const missing = templateSlots(ctx.params.template).filter((s) => !(s in inputs));
    if (missing.length > 0) {
      return err(
        problem(
          'bad_request',
          `slot${missing.length === 1 ? '' : 's'} ${missing.map((m) => `{{${m}}}`).join(', ')} ha${missing.length === 1 ? 's' : 've'} no input`,
          ctx.nodeId,
        ),
      );
    }
    const out = ctx.params.template.replace(
      /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g,
      (_m, name: string) => toText(inputs[name]),
    );
    return ok({ out });
  },
});
