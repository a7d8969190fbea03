import { z } from 'zod';
import { defineNode } from '../../node-api';
import { runAudioSource } from './audio-frames';

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
    run(ctx) {
      let phase = 0;
      return runAudioSource(ctx, params, (samples, frames, channels) => {
        // Read per frame: frequency and amplitude tune live, with a continuous phase.
        const { frequency_hz, amplitude } = ctx.params;
        const step = (2 * Math.PI * frequency_hz) / params.sample_rate;
        for (let s = 0; s < frames; s++) {
          const v = amplitude * Math.sin(phase);
          phase += step;
          for (let c = 0; c < channels; c++) samples[s * channels + c] = v;
        }
        phase %= 2 * Math.PI;
      });
    },
  }),
});
