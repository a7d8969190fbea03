import type { RunContext } from '../../node-api';

/** Audio travels in 20 ms frames (Opus's frame size), at any sample rate. */
export const AUDIO_FRAME_MS = 20;

export function samplesPerFrame(sampleRate: number): number {
  return Math.round((sampleRate * AUDIO_FRAME_MS) / 1000);
}

/** Frames a source of `durationMs` produces (0 = endless). */
export function frameCount(durationMs: number): number {
  return durationMs > 0 ? Math.ceil(durationMs / AUDIO_FRAME_MS) : Number.POSITIVE_INFINITY;
}

export interface AudioSourceFormat {
  sample_rate: number;
  channels: number;
  /** 0 = endless. */
  duration_ms: number;
}

/**
 * The loop every audio source shares: paced 20 ms frames of interleaved float PCM until
 * `duration_ms` (the last frame may be short) or until the node stops. `fill` writes
 * `frames` samples per channel into a zeroed buffer.
 */
export async function runAudioSource<P>(
  ctx: RunContext<P>,
  format: AudioSourceFormat,
  fill: (samples: Float32Array, frames: number, channels: number) => void,
): Promise<'completed'> {
  const { sample_rate: rate, channels, duration_ms } = format;
  const perFrame = samplesPerFrame(rate);
  const total =
    duration_ms > 0 ? Math.round((rate * duration_ms) / 1000) : Number.POSITIVE_INFINITY;
  let produced = 0;
  for (let i = 0; i < frameCount(duration_ms) && !ctx.signal.stopped; i++) {
    const n = Math.min(perFrame, total - produced);
    const samples = new Float32Array(n * channels);
    fill(samples, n, channels);
    const ptsUs = i * AUDIO_FRAME_MS * 1000;
    await ctx.pace(ptsUs);
    await ctx.send('out', { type: 'audio', sampleRate: rate, channels, samples, ptsUs });
    produced += n;
  }
  return 'completed';
}
