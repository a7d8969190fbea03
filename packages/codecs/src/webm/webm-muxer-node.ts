import type { BinaryPacket } from '@patchbay/engine';
import { z } from 'zod';
import type { CodecNodeSpec } from '../codec-node';
import { CodecError } from '../errors';
import { createWebmMuxer } from './webm-muxer';

export const WebmMuxerParamsSchema = z.object({
  /** StreamKit's (audio) param; accepted for compatibility, unused until Opus tracks are muxed. */
  channels: z.number().int().min(1).max(2).default(2),
  /** Bytes buffered before output is handed on; 0 hands on every write (StreamKit compatible). */
  chunk_size: z.number().int().min(0).default(65_536),
  /** StreamKit's (audio) param; accepted for compatibility, unused until Opus tracks are muxed. */
  sample_rate: z.number().int().min(0).default(48_000),
  /**
   * true (default): hand the WebM on as it is made, live-style (no Duration, no Cues). false: hand
   * on a complete file (Duration, Cues) at the end of the stream; it is held in memory until then.
   */
  streaming: z.boolean().default(true),
});
export type WebmMuxerParams = z.infer<typeof WebmMuxerParamsSchema>;

/**
 * VP9 packets → a streaming WebM (FFmpeg's muxer via node-av, inline: writing a block is a copy).
 * One video track today; Opus tracks are not muxed yet.
 */
export const webmMuxerSpec: CodecNodeSpec<WebmMuxerParams> = {
  kind: 'containers::webm::muxer',
  description: 'Muxes VP9 packets into a streaming WebM (one video track).',
  params: WebmMuxerParamsSchema,
  pins: () => ({
    inputs: [{ name: 'in', type: 'encoded_video' }],
    outputs: [{ name: 'out', type: 'binary' }],
  }),
  codec: (p) => ({
    host: 'inline',
    spec: {
      name: 'webm-muxer',
      create: () => createWebmMuxer({ chunkSize: p.chunk_size, streaming: p.streaming }),
    },
    init: undefined,
  }),
  adapter: () => ({
    input(packet) {
      if (packet.type !== 'encoded_video')
        throw new CodecError(
          'bad_input',
          `input must be encoded video, not a ${packet.type} packet`,
        );
      if (packet.codec !== 'vp9')
        throw new CodecError('bad_input', `input is ${packet.codec}; the WebM muxer takes vp9`);
      return [{ frame: { data: packet.data, ptsUs: packet.ptsUs, keyframe: packet.keyframe } }];
    },
    output(frame): BinaryPacket {
      return { type: 'binary', data: frame.data as Uint8Array, contentType: 'video/webm' };
    },
  }),
};
