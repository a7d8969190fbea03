import { z } from 'zod';
import { defineNode } from '../../node-api';

/** Forwards every packet unchanged. */
export const passthroughNode = defineNode({
  kind: 'core::passthrough',
  description: 'Forwards every packet unchanged.',
  params: z.object({}),
  pins: () => ({ inputs: [{ name: 'in', type: 'any' }], outputs: [{ name: 'out', type: 'any' }] }),
  create: () => ({
    async run(ctx) {
      for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
        if (ev.type === 'packet') await ctx.send('out', ev.packet);
      }
      return 'input_closed';
    },
  }),
});
