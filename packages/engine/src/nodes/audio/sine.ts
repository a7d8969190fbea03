import { z } from 'zod';
import { defineNode } from '../../node-api';
import { AUDIO_FRAME_MS, frameCount, samplesPerFrame } from './audio-frames';

export const SineParamsSchema = z.object({
  frequency_hz: z.number().positive().max(96_000).default(440),
  /** 0 = endless. */
  duration_ms: z.number().int().nonnegative().default(0),
  sample_rate: z.number().int().min(8_000).max(192_000).default(48_000),
  channels: z.number().int().min(1).max(8).default(1),
  /** Linear peak amplitude. */
  amplitude: z.number().min(0).max(1).default(0.5),
});

/** A sine tone in 20 ms frames; frequency and amplitude tune live with a continuous phase. */
export const sineNode = defineNode({
  kind: 'audio::sine',
  description: 'Sine tone generator (20 ms frames); ends after duration_ms when set.',
  params: SineParamsSchema,
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'raw_audio' }] }),
  create: ({ params }) => ({
    async run(ctx) {
      const { sample_rate: rate, channels, duration_ms } = params;
      const perFrame = samplesPerFrame(rate);
      const total =
        duration_ms > 0 ? Math.round((rate * duration_ms) / 1000) : Number.POSITIVE_INFINITY;
      const frames = frameCount(duration_ms);
      let phase = 0;
      let produced = 0;
      for (let i = 0; i < frames && !ctx.signal.stopped; i++) {
        const n = Math.min(perFrame, total - produced);
        const { frequency_hz, amplitude } = ctx.params;
        const step = (2 * Math.PI * frequency_hz) / rate;
        const samples = new Float32Array(n * channels);
        for (let s = 0; s < n; s++) {
          const v = amplitude * Math.sin(phase);
          phase += step;
          for (let c = 0; c < channels; c++) samples[s * channels + c] = v;
        }
        phase %= 2 * Math.PI;
        const ptsUs = i * AUDIO_FRAME_MS * 1000;
        await ctx.pace(ptsUs);
        await ctx.send('out', { type: 'audio', sampleRate: rate, channels, samples, ptsUs });
        produced += n;
      }
      return 'completed';
    },
  }),
});
