// @ts-check
/**
 * Opus encoder codec module (runs in a WorkerCodecHost thread). Takes interleaved float PCM at
 * 48 kHz in frames of any length, re-chunks it into 20 ms frames (960 samples per channel) and
 * emits one Opus packet per frame. At end of input it pads with silence until the decoder can
 * return every input sample after the pre-skip, and marks the real part of the last packet in
 * its `durationUs`, which the Ogg muxer turns into the end-trimming granule position.
 *
 * libopus runs as WebAssembly (opus-wasm.mjs), never as @evan/opus's native addon: the addon
 * encodes into one process-wide static buffer, so two threads encoding at once corrupt each
 * other's packets, and a worker that loaded it segfaults the whole process when it exits (unless
 * the main thread loaded it too, and even then when terminated mid-call). A WASM instance has its
 * own memory: any number of workers run side by side and terminate() is safe. See README.
 */
import { instantiateOpus } from './opus-wasm.mjs';

const SAMPLE_RATE = 48_000;
const FRAME_SAMPLES = 960;
const FRAME_US = 20_000;

/**
 * Our application names → libopus's.
 * @type {Record<string, 'audio' | 'voip' | 'restricted_lowdelay'>}
 */
const APPLICATIONS = { audio: 'audio', voip: 'voip', lowdelay: 'restricted_lowdelay' };

/**
 * @param {any} init {channels: 1|2, bitrate: number, application: 'audio'|'voip'|'lowdelay', wasm?: compiled libopus}
 * @returns {import('../codec-host').CodecInstance}
 */
export function create(init) {
  const channels = init.channels;
  const application = APPLICATIONS[init.application];
  if (!application) throw new Error(`unknown application ${init.application}`);
  const opus = instantiateOpus(init.wasm);
  // Warm up with a throwaway encoder state, so the first real frame pays no first-call costs and
  // the real encoder starts clean.
  const warm = opus.encoder({ channels, application });
  warm.encode(new Int16Array(FRAME_SAMPLES * channels));
  warm.free();

  const encoder = opus.encoder({ channels, application, bitrate: init.bitrate });
  const lookahead = encoder.lookahead;
  const pcm = new Int16Array(FRAME_SAMPLES * channels);
  let fill = 0;
  let packets = 0;
  let inputSamples = 0;
  /** @type {number | undefined} */
  let basePts;

  function encodeFrame() {
    const data = encoder.encode(pcm);
    const frame = { data, ptsUs: (basePts ?? 0) + packets * FRAME_US, durationUs: FRAME_US };
    packets++;
    fill = 0;
    return frame;
  }

  return {
    info: { lookahead, sampleRate: SAMPLE_RATE, channels, frameSamples: FRAME_SAMPLES },
    process(frame) {
      const src = /** @type {Float32Array} */ (frame.data);
      basePts ??= frame.ptsUs ?? 0;
      inputSamples += src.length / channels;
      const out = [];
      for (let i = 0; i < src.length;) {
        const n = Math.min(src.length - i, pcm.length - fill);
        for (let k = 0; k < n; k++) {
          const v = (src[i + k] ?? 0) * 32768;
          pcm[fill + k] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
        i += n;
        fill += n;
        if (fill === pcm.length) out.push(encodeFrame());
      }
      return out;
    },
    flush() {
      const out = [];
      // The decoder's first `lookahead` samples are the pre-skip: it needs that many more.
      const needed = inputSamples + lookahead;
      while (packets * FRAME_SAMPLES < needed) {
        pcm.fill(0, fill);
        out.push(encodeFrame());
      }
      const last = out.at(-1);
      if (last)
        last.durationUs = Math.round(
          ((needed - (packets - 1) * FRAME_SAMPLES) * 1e6) / SAMPLE_RATE,
        );
      return out;
    },
    close() {
      encoder.free();
    },
  };
}
