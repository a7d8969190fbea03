import type { EncodedVideoPacket, VideoPacket } from '@patchbay/engine';
import { z } from 'zod';
import { expectType } from '../codec-node';
import type { CodecNodeSpec } from '../codec-node';
import { CodecError } from '../errors';
import { createVpxDecoder, createVpxEncoder } from './vpx-codec';
import type { VpxCodec, VpxDecoderInit, VpxEncoderInit } from './vpx-codec';
import { I420Converter } from './i420-converter';

/**
 * Video frames in flight per VP8/VP9 node: a 720p RGBA frame is 3.7 MB, and two frames keep the
 * encoder busy (the next one is queued while the last packet travels on).
 */
export const VIDEO_CODEC_MAX_IN_FLIGHT = 4;

export const VpxEncoderParamsSchema = z.object({
  /** Frame size the encoder is set up for; every input frame must have it. */
  width: z.number().int().min(16).max(7680).default(1280),
  height: z.number().int().min(16).max(4320).default(720),
  /** Nominal frame rate, for rate control (timestamps come from the packets). */
  fps: z.number().positive().max(240).default(30),
  /** Target bitrate in bits per second. */
  bitrate: z.number().int().min(50_000).max(50_000_000).default(2_000_000),
  /** Most frames between keyframes. */
  keyframe_interval: z.number().int().min(1).max(10_000).default(120),
  /** libvpx `cpu-used` with the realtime deadline: 0 (best) … 8 (fastest). FFmpeg refuses 9. */
  speed: z.number().int().min(0).max(8).default(8),
  /** libvpx encoder threads. */
  threads: z.number().int().min(1).max(16).default(2),
});
export type VpxEncoderParams = z.infer<typeof VpxEncoderParamsSchema>;

const NAMES: Record<VpxCodec, string> = { vp8: 'VP8', vp9: 'VP9' };

/**
 * Raw RGBA or I420 video → VP8 or VP9 (libvpx realtime, via node-av). Inline host: node-av's
 * async calls run the encode on the libuv pool, so the control loop only copies the frame in
 * (C1). The encoder is opened and warmed with one frame when the node initializes.
 */
function vpxEncoderSpec(codec: VpxCodec): CodecNodeSpec<VpxEncoderParams> {
  return {
    kind: `video::${codec}::encoder`,
    description: `Encodes RGBA or I420 video into ${NAMES[codec]} (libvpx realtime: bitrate, keyframe interval, speed, threads).`,
    params: VpxEncoderParamsSchema,
    pins: () => ({
      inputs: [{ name: 'in', type: 'raw_video' }],
      outputs: [{ name: 'out', type: 'encoded_video' }],
    }),
    maxInFlight: VIDEO_CODEC_MAX_IN_FLIGHT,
    codec: (p) => ({
      host: 'inline',
      spec: { name: `libvpx-${codec}`, create: createVpxEncoder },
      init: {
        codec,
        width: p.width,
        height: p.height,
        fps: p.fps,
        bitrate: p.bitrate,
        keyframeInterval: p.keyframe_interval,
        speed: p.speed,
        threads: p.threads,
      } satisfies VpxEncoderInit,
    }),
    adapter: (p) => {
      let frames = 0;
      let convertUs = 0;
      let encodeUs = 0;
      // Converting here, as each frame arrives, overlaps it with libvpx encoding earlier frames on
      // the libuv pool (the host runs the codec one frame at a time, so a conversion inside it
      // would wait for the previous encode). Odd sizes, or frames of another size, go to the codec
      // as RGBA: it converts them itself, or rejects them with a reason.
      const converter =
        p.width % 2 === 0 && p.height % 2 === 0 ? new I420Converter(p.width, p.height) : undefined;
      return {
        input(packet) {
          const video = expectType(packet, 'video', 'raw video');
          const meta = { width: video.width, height: video.height };
          if (video.format === 'i420') {
            // Already what libvpx takes (e.g. from a compositor with output_format i420): the codec
            // copies the planes into its frame and checks the size.
            return [
              {
                frame: { data: video.data, ptsUs: video.ptsUs, meta: { ...meta, format: 'i420' } },
              },
            ];
          }
          if (
            converter &&
            video.width === p.width &&
            video.height === p.height &&
            video.data.byteLength === p.width * p.height * 4
          ) {
            const t0 = performance.now();
            const data = converter.convert(video.data);
            convertUs += (performance.now() - t0) * 1000;
            // A new buffer nobody else sees: the host may take it.
            return [
              {
                frame: { data, ptsUs: video.ptsUs, meta: { ...meta, format: 'i420' } },
                transfer: true,
              },
            ];
          }
          // The codec only reads the pixels (into its own AVFrame), so the shared packet is passed as is.
          return [{ frame: { data: video.data, ptsUs: video.ptsUs, meta } }];
        },
        output(frame): EncodedVideoPacket {
          frames++;
          convertUs += Number(frame.meta?.convert_us ?? 0);
          encodeUs += Number(frame.meta?.encode_us ?? 0);
          return {
            type: 'encoded_video',
            codec,
            data: frame.data as Uint8Array,
            keyframe: frame.keyframe === true,
            ptsUs: frame.ptsUs ?? 0,
          };
        },
        stats: () => ({
          convert_us: frames ? Math.round(convertUs / frames) : 0,
          encode_us: frames ? Math.round(encodeUs / frames) : 0,
        }),
      };
    },
  };
}

export const vp8EncoderSpec = vpxEncoderSpec('vp8');
export const vp9EncoderSpec = vpxEncoderSpec('vp9');

export const VpxDecoderParamsSchema = z.object({
  /** Decoder threads (slice threading: no added delay). */
  threads: z.number().int().min(1).max(16).default(1),
});
export type VpxDecoderParams = z.infer<typeof VpxDecoderParamsSchema>;

/** VP8 or VP9 → raw RGBA video (FFmpeg's decoder via node-av, on the libuv pool; inline host). */
function vpxDecoderSpec(codec: VpxCodec): CodecNodeSpec<VpxDecoderParams> {
  return {
    kind: `video::${codec}::decoder`,
    description: `Decodes ${NAMES[codec]} into RGBA video.`,
    params: VpxDecoderParamsSchema,
    pins: () => ({
      inputs: [{ name: 'in', type: 'encoded_video' }],
      outputs: [{ name: 'out', type: 'raw_video' }],
    }),
    maxInFlight: VIDEO_CODEC_MAX_IN_FLIGHT,
    codec: (p) => ({
      host: 'inline',
      spec: { name: `${codec}-decoder`, create: createVpxDecoder },
      init: { codec, threads: p.threads } satisfies VpxDecoderInit,
    }),
    adapter: () => ({
      input(packet) {
        const video = expectType(packet, 'encoded_video', 'encoded video');
        if (video.codec !== codec)
          throw new CodecError('bad_input', `input is ${video.codec}; the decoder takes ${codec}`);
        return [{ frame: { data: video.data, ptsUs: video.ptsUs, keyframe: video.keyframe } }];
      },
      output(frame): VideoPacket {
        return {
          type: 'video',
          width: Number(frame.meta?.width),
          height: Number(frame.meta?.height),
          data: frame.data as Uint8Array,
          ptsUs: frame.ptsUs ?? 0,
        };
      },
    }),
  };
}

export const vp8DecoderSpec = vpxDecoderSpec('vp8');
export const vp9DecoderSpec = vpxDecoderSpec('vp9');
