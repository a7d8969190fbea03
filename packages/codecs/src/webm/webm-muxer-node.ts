import type { BinaryPacket, Packet } from '@patchbay/engine';
import { z } from 'zod';
import type { CodecFrame } from '../codec-host';
import type { CodecNodeSpec } from '../codec-node';
import { CodecError } from '../errors';
import { OPUS_DEFAULT_PRE_SKIP } from '../ogg/ogg-opus-muxer';
import { WEBM_TRACK_WAIT_MS, WebmInterleaver, WebmTrack } from './webm-interleaver';
import { createWebmMuxer } from './webm-muxer';

export const WebmMuxerParamsSchema = z.object({
  /** Channels written in the Opus track (OpusHead and Channels; mono or stereo). StreamKit's default. */
  channels: z.number().int().min(1).max(2).default(2),
  /** Bytes buffered before output is handed on; 0 hands on every write (StreamKit compatible). */
  chunk_size: z.number().int().min(0).default(65_536),
  /** OpusHead's informational input sample rate (the track itself is always 48 kHz). */
  sample_rate: z.number().int().min(0).max(0xffff_ffff).default(48_000),
  /**
   * Samples the Opus decoder drops at the start: the encoder's lookahead (312 for `audio`/`voip`,
   * 120 for `lowdelay`). Opus packets do not carry it; written as OpusHead's pre-skip and CodecDelay.
   */
  pre_skip: z.number().int().min(0).max(0xffff).default(OPUS_DEFAULT_PRE_SKIP),
  /**
   * true (default): hand the WebM on as it is made, live-style (no Duration, no Cues). false: hand
   * on a complete file (Duration, Cues) at the end of the stream; it is held in memory until then.
   */
  streaming: z.boolean().default(true),
});
export type WebmMuxerParams = z.infer<typeof WebmMuxerParamsSchema>;

/** Input pin → track. Typed pins (checked at import) rather than StreamKit's `in` that takes either. */
const PIN_TRACK: Readonly<Record<string, WebmTrack>> = {
  in: WebmTrack.video,
  audio: WebmTrack.audio,
};

/**
 * VP8 or VP9 and/or Opus packets → a WebM (FFmpeg's muxer via node-av, inline: writing a block is a
 * copy). The header lists a track per connected input that delivers a packet (see
 * `WebmInterleaver` for the wait rule); blocks are written in timestamp order.
 */
export const webmMuxerSpec: CodecNodeSpec<WebmMuxerParams> = {
  kind: 'containers::webm::muxer',
  description:
    'Muxes VP8 or VP9 video (pin `in`) and/or Opus audio (pin `audio`) into a WebM, interleaved by ' +
    'timestamp: `needs: enc` for video only, `needs: {audio: opus}` for audio only, ' +
    '`needs: {in: enc, audio: opus}` for both. The header waits for the first packet of each ' +
    `connected input (an input that closes without data, or sends nothing for ${WEBM_TRACK_WAIT_MS} ms ` +
    'while the other has data, is left out).',
  params: WebmMuxerParamsSchema,
  pins: () => ({
    inputs: [
      { name: 'in', type: 'encoded_video', description: 'VP8 or VP9 packets: the video track' },
      { name: 'audio', type: 'opus', description: 'Opus packets: the audio track' },
    ],
    outputs: [{ name: 'out', type: 'binary' }],
  }),
  codec: (p) => ({
    host: 'inline',
    spec: {
      name: 'webm-muxer',
      create: () =>
        createWebmMuxer({
          chunkSize: p.chunk_size,
          streaming: p.streaming,
          audio: { channels: p.channels, preSkip: p.pre_skip, inputSampleRate: p.sample_rate },
        }),
    },
    init: undefined,
  }),
  adapter: (_p, _info, _nodeId, run) => {
    const interleaver = new WebmInterleaver({
      connected: () => run.connectedInputs().flatMap((pin) => PIN_TRACK[pin] ?? []),
      now: () => run.clock.now(),
    });
    // The muxer only reads the bytes, so shared packets are passed as they are.
    const frames = (list: CodecFrame[]) => list.map((frame) => ({ frame }));
    return {
      input(packet, pin) {
        const track = PIN_TRACK[pin];
        if (!track) throw new CodecError('bad_input', `no input pin '${pin}'`);
        return frames(interleaver.push(track, toFrame(track, packet)));
      },
      pinEvent(event) {
        const track = PIN_TRACK[event.pin];
        if (!track) return [];
        return frames(
          event.type === 'pin_added' ? interleaver.open(track) : interleaver.close(track),
        );
      },
      end: () => frames(interleaver.end()),
      output(frame): BinaryPacket {
        const hasVideo = interleaver.tracks?.includes(WebmTrack.video) ?? true;
        return {
          type: 'binary',
          data: frame.data as Uint8Array,
          contentType: hasVideo ? 'video/webm' : 'audio/webm',
        };
      },
      stats: () => ({ webm_packets_dropped: interleaver.dropped }),
    };
  },
};

function toFrame(track: WebmTrack, packet: Packet): CodecFrame {
  if (track === WebmTrack.video) {
    if (packet.type !== 'encoded_video')
      throw new CodecError('bad_input', `pin in takes encoded video, not a ${packet.type} packet`);
    if (packet.codec !== 'vp8' && packet.codec !== 'vp9')
      throw new CodecError(
        'bad_input',
        `input is ${packet.codec}; the WebM muxer takes vp8 or vp9`,
      );
    return {
      data: packet.data,
      ptsUs: packet.ptsUs,
      keyframe: packet.keyframe,
      meta: { codec: packet.codec },
    };
  }
  if (packet.type !== 'opus')
    throw new CodecError('bad_input', `pin audio takes Opus, not a ${packet.type} packet`);
  return { data: packet.data, ptsUs: packet.ptsUs, durationUs: packet.durationUs };
}
