import { z } from 'zod';
import { ok } from '@patchbay/protocol';
import { defineTaskNode } from '../task-api';
import { toText } from './task-values';

export const humanInputNode = defineTaskNode({
  kind: 'human::input',
  description:
    'Pauses the run until someone answers the prompt (the answer request); outputs the answer. A connected input is shown with the prompt.',
  params: z.object({ prompt: z.string().default('') }),
  pins: () => ({
    inputs: [{ name: 'in', type: 'any' }],
    outputs: [{ name: 'out', type: 'any' }],
  }),
  execute: async (inputs, ctx) => {
    const context = 'in' in inputs ? toText(inputs.in) : '';
    const prompt = [ctx.params.prompt, context].filter((s) => s !== '').join('\n\n');
    const answer = await ctx.waitForAnswer(prompt);
    if (!answer.ok) return answer;
    return ok({ out: answer.value });
  },
});
