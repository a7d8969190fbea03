import { z } from 'zod';
import { defineNode } from '../../node-api';
import { runAudioSource } from './audio-frames';

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
    // Buffers start zeroed: nothing to fill.
    run: (ctx) => runAudioSource(ctx, params, () => {}),
  }),
});
