import type { BinaryPacket } from '@patchbay/engine';
import { z } from 'zod';
import type { CodecNodeSpec } from '../codec-node';
import { CodecError } from '../errors';
import { OPUS_DEFAULT_PRE_SKIP, createOggOpusMuxer } from './ogg-opus-muxer';

export const OggMuxerParamsSchema = z.object({
  /** Channels written in OpusHead (mapping family 0: mono or stereo). StreamKit's default is 1. */
  channels: z.number().int().min(1).max(2).default(1),
  /** Bytes buffered before output is handed on; 0 hands on every page (StreamKit compatible). */
  chunk_size: z.number().int().min(0).default(65_536),
  /** StreamKit names the codec; Opus is the only one. */
  codec: z.literal('opus').optional(),
  /** Ogg logical stream serial number. */
  stream_serial: z.number().int().min(0).max(0xffff_ffff).default(0),
  /** OpusHead's informational input sample rate. */
  sample_rate: z.number().int().min(0).max(0xffff_ffff).default(48_000),
  /**
   * Samples the decoder drops at the start: the encoder's lookahead (312 for `audio`/`voip`,
   * 120 for `lowdelay`). Opus packets do not carry it, so it is a param here.
   */
  pre_skip: z.number().int().min(0).max(0xffff).default(OPUS_DEFAULT_PRE_SKIP),
});
export type OggMuxerParams = z.infer<typeof OggMuxerParamsSchema>;

/**
 * Opus packets → an Ogg Opus byte stream (RFC 7845). Runs inline: page assembly is a copy and a
 * CRC per page, far below a millisecond, and going through the codec contract gives it the same
 * finalize step (a failed mux is a failed, truncated output, never a silent success).
 */
export const oggMuxerSpec: CodecNodeSpec<OggMuxerParams> = {
  kind: 'containers::ogg::muxer',
  description:
    'Muxes Opus packets into an Ogg Opus stream (OpusHead/OpusTags, granules with pre-skip).',
  params: OggMuxerParamsSchema,
  pins: () => ({
    inputs: [{ name: 'in', type: 'opus' }],
    outputs: [{ name: 'out', type: 'binary' }],
  }),
  codec: (p) => ({
    host: 'inline',
    spec: {
      name: 'ogg-opus-muxer',
      create: () =>
        createOggOpusMuxer({
          channels: p.channels,
          preSkip: p.pre_skip,
          inputSampleRate: p.sample_rate,
          serial: p.stream_serial,
          chunkSize: p.chunk_size,
        }),
    },
    init: undefined,
  }),
  adapter: () => ({
    input(packet) {
      if (packet.type !== 'opus')
        throw new CodecError('bad_input', `input must be Opus, not a ${packet.type} packet`);
      // Inline: the muxer only reads the bytes, so the shared packet is passed as is.
      return [{ frame: { data: packet.data, ptsUs: packet.ptsUs, durationUs: packet.durationUs } }];
    },
    output(frame): BinaryPacket {
      return { type: 'binary', data: frame.data as Uint8Array, contentType: 'audio/ogg' };
    },
  }),
};
