/** Audio travels in 20 ms frames (Opus's frame size), at any sample rate. */
export const AUDIO_FRAME_MS = 20;

export function samplesPerFrame(sampleRate: number): number {
  return Math.round((sampleRate * AUDIO_FRAME_MS) / 1000);
}

/** Frames a source of `durationMs` produces (0 = endless). */
export function frameCount(durationMs: number): number {
  return durationMs > 0 ? Math.ceil(durationMs / AUDIO_FRAME_MS) : Number.POSITIVE_INFINITY;
}
