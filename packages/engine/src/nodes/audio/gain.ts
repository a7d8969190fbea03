import { z } from 'zod';
import { defineNode } from '../../node-api';

export const GainParamsSchema = z.object({
  /** Linear gain (1 = unchanged). */
  gain: z.number().min(0).max(64).default(1),
});

/** Multiplies samples by a linear gain; tuning takes effect on the next frame. */
export const gainNode = defineNode({
  kind: 'audio::gain',
  description: 'Linear gain on raw audio.',
  params: GainParamsSchema,
  pins: () => ({
    inputs: [{ name: 'in', type: 'raw_audio' }],
    outputs: [{ name: 'out', type: 'raw_audio' }],
  }),
  create: () => ({
    async run(ctx) {
      for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
        if (ev.type !== 'packet' || ev.packet.type !== 'audio') continue;
        const { gain } = ctx.params;
        const src = ev.packet.samples;
        const out = new Float32Array(src.length);
        for (let i = 0; i < src.length; i++) out[i] = src[i]! * gain;
        await ctx.send('out', { ...ev.packet, samples: out });
      }
      return 'input_closed';
    },
  }),
});
