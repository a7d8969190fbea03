import type { AudioPacket, OpusPacket } from '@patchbay/engine';
import { z } from 'zod';
import { expectType } from '../codec-node';
import type { CodecNodeSpec } from '../codec-node';
import { CodecError } from '../errors';
import { OPUS_SAMPLE_RATE } from './opus-packet';
import { opusWasmModule } from './opus-wasm-module';

/** 20 ms: the frame the encoder emits (re-chunking whatever it is given). */
const OPUS_FRAME_US = 20_000;

/** The codec modules (plain `.mjs`, loaded inside the worker). */
export const OPUS_ENCODER_CODEC = {
  name: 'opus-encoder',
  module: new URL('./opus-encoder-codec.mjs', import.meta.url).href,
} as const;
export const OPUS_DECODER_CODEC = {
  name: 'opus-decoder',
  module: new URL('./opus-decoder-codec.mjs', import.meta.url).href,
} as const;

export const OpusEncoderParamsSchema = z.object({
  /** Target bitrate in bits per second. */
  bitrate: z.number().int().min(6_000).max(510_000).default(64_000),
  /** libopus application: `lowdelay` is RESTRICTED_LOWDELAY (2.5 ms lookahead instead of 6.5 ms). */
  application: z.enum(['audio', 'voip', 'lowdelay']).default('audio'),
  /** Channels of the input (interleaved); the input must match. */
  channels: z.number().int().min(1).max(2).default(1),
});
export type OpusEncoderParams = z.infer<typeof OpusEncoderParamsSchema>;

/**
 * Raw 48 kHz float audio → Opus packets, 20 ms each, in a worker thread. Input packets of any
 * length are re-chunked in the worker; another sample rate fails the node (resampling is out
 * of scope). The last packet's `durationUs` is the real audio in it (the rest is padding).
 */
export const opusEncoderSpec: CodecNodeSpec<OpusEncoderParams> = {
  kind: 'audio::opus::encoder',
  description: 'Encodes 48 kHz raw audio into 20 ms Opus packets (bitrate, application, channels).',
  params: OpusEncoderParamsSchema,
  pins: () => ({
    inputs: [{ name: 'in', type: 'raw_audio' }],
    outputs: [{ name: 'out', type: 'opus' }],
  }),
  codec: async (p) => ({
    host: 'worker',
    spec: OPUS_ENCODER_CODEC,
    init: {
      channels: p.channels,
      bitrate: p.bitrate,
      application: p.application,
      wasm: await opusWasmModule(),
    },
  }),
  adapter: (p) => ({
    input(packet) {
      const audio = expectType(packet, 'audio', 'raw audio');
      if (audio.sampleRate !== OPUS_SAMPLE_RATE) {
        throw new CodecError(
          'bad_input',
          `input is ${audio.sampleRate} Hz; the Opus encoder takes ${OPUS_SAMPLE_RATE} Hz only (resampling is out of scope)`,
        );
      }
      if (audio.channels !== p.channels) {
        throw new CodecError(
          'bad_input',
          `input has ${audio.channels} channels; the encoder was set up for ${p.channels} (params.channels)`,
        );
      }
      // The packet may be shared by a fan-out: the host copies it once rather than taking it.
      return [{ frame: { data: audio.samples, ptsUs: audio.ptsUs } }];
    },
    output(frame): OpusPacket {
      return {
        type: 'opus',
        data: frame.data as Uint8Array,
        ptsUs: frame.ptsUs ?? 0,
        durationUs: frame.durationUs ?? OPUS_FRAME_US,
      };
    },
  }),
};

export const OpusDecoderParamsSchema = z.object({
  /** Channels to decode to. */
  channels: z.number().int().min(1).max(2).default(1),
});
export type OpusDecoderParams = z.infer<typeof OpusDecoderParamsSchema>;

/** Opus packets → raw 48 kHz float audio, in a worker thread. */
export const opusDecoderSpec: CodecNodeSpec<OpusDecoderParams> = {
  kind: 'audio::opus::decoder',
  description: 'Decodes Opus packets into 48 kHz raw audio.',
  params: OpusDecoderParamsSchema,
  pins: () => ({
    inputs: [{ name: 'in', type: 'opus' }],
    outputs: [{ name: 'out', type: 'raw_audio' }],
  }),
  codec: async (p) => ({
    host: 'worker',
    spec: OPUS_DECODER_CODEC,
    init: { channels: p.channels, wasm: await opusWasmModule() },
  }),
  adapter: (p) => ({
    input(packet) {
      const opus = expectType(packet, 'opus', 'Opus');
      return [{ frame: { data: opus.data, ptsUs: opus.ptsUs, durationUs: opus.durationUs } }];
    },
    output(frame): AudioPacket {
      return {
        type: 'audio',
        sampleRate: OPUS_SAMPLE_RATE,
        channels: p.channels,
        samples: frame.data as Float32Array,
        ptsUs: frame.ptsUs ?? 0,
      };
    },
  }),
};
