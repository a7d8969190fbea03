/** Opus's sample rate: packets always decode to 48 kHz timing (RFC 7845 granules count at 48 kHz). */
export const OPUS_SAMPLE_RATE = 48_000;

/**
 * Samples (per channel, at 48 kHz) an Opus packet decodes to, from its TOC byte and frame count
 * (RFC 6716 §3.1), or 0 for a packet too short to say.
 */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const config = toc >> 3;
  let frameSamples: number;
  if (config < 12)
    frameSamples = [480, 960, 1920, 2880][config & 3]!; // SILK: 10/20/40/60 ms
  else if (config < 16)
    frameSamples = [480, 960][config & 1]!; // hybrid: 10/20 ms
  else frameSamples = [120, 240, 480, 960][config & 3]!; // CELT: 2.5/5/10/20 ms
  const code = toc & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 3) frames = (packet[1] ?? 0) & 0x3f;
  else frames = 2;
  return frames * frameSamples;
}
