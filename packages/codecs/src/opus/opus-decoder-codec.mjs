// @ts-check
/**
 * Opus decoder codec module (runs in a WorkerCodecHost thread): one Opus packet in, interleaved
 * float PCM at 48 kHz out. A packet whose `durationUs` is shorter than what it decodes to (the
 * padded last packet of a stream) is trimmed to its real length. WASM: see the encoder.
 */
import { instantiateOpus } from './opus-wasm.mjs';

const SAMPLE_RATE = 48_000;

/**
 * @param {any} init {channels: 1|2, wasm?: compiled libopus}
 * @returns {import('../codec-host').CodecInstance}
 */
export function create(init) {
  const channels = init.channels;
  const decoder = instantiateOpus(init.wasm).decoder({ channels });
  return {
    info: { sampleRate: SAMPLE_RATE, channels },
    process(frame) {
      const pcm = decoder.decode(/** @type {Uint8Array} */ (frame.data));
      let samples = pcm.length / channels;
      const real = frame.durationUs ? Math.round((frame.durationUs * SAMPLE_RATE) / 1e6) : samples;
      if (real > 0 && real < samples) samples = real;
      const out = new Float32Array(samples * channels);
      for (let i = 0; i < out.length; i++) out[i] = (pcm[i] ?? 0) / 32768;
      return [
        {
          data: out,
          ptsUs: frame.ptsUs ?? 0,
          durationUs: Math.round((samples * 1e6) / SAMPLE_RATE),
        },
      ];
    },
    flush() {
      return [];
    },
    close() {
      decoder.free();
    },
  };
}
