import { z } from 'zod';
import { defineNode } from '../../node-api';
import { AUDIO_FRAME_MS, frameCount, samplesPerFrame } from './audio-frames';

export const SilenceParamsSchema = z.object({
  /** 0 = endless. */
  duration_ms: z.number().int().nonnegative().default(0),
  sample_rate: z.number().int().min(8_000).max(192_000).default(48_000),
  channels: z.number().int().min(1).max(8).default(1),
});

/** Digital silence in 20 ms frames. */
export const silenceNode = defineNode({
  kind: 'audio::silence',
  description: 'Silence generator (20 ms frames); ends after duration_ms when set.',
  params: SilenceParamsSchema,
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'raw_audio' }] }),
  create: ({ params }) => ({
    async run(ctx) {
      const { sample_rate: rate, channels, duration_ms } = params;
      const perFrame = samplesPerFrame(rate);
      const total =
        duration_ms > 0 ? Math.round((rate * duration_ms) / 1000) : Number.POSITIVE_INFINITY;
      let produced = 0;
      for (let i = 0; i < frameCount(duration_ms) && !ctx.signal.stopped; i++) {
        const n = Math.min(perFrame, total - produced);
        const ptsUs = i * AUDIO_FRAME_MS * 1000;
        await ctx.pace(ptsUs);
        const samples = new Float32Array(n * channels);
        await ctx.send('out', { type: 'audio', sampleRate: rate, channels, samples, ptsUs });
        produced += n;
      }
      return 'completed';
    },
  }),
});
