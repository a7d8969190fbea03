import {
  Codec,
  CodecContext,
  Dictionary,
  FFmpegError,
  Frame,
  Packet,
  Rational,
  SoftwareScaleContext,
} from 'node-av/lib';
import {
  AVERROR_EAGAIN,
  AVERROR_EOF,
  AV_PICTURE_TYPE_I,
  AV_PICTURE_TYPE_NONE,
  AV_PIX_FMT_RGBA,
  AV_PIX_FMT_YUV420P,
  FF_DECODER_LIBVPX_VP8,
  FF_DECODER_LIBVPX_VP9,
  FF_DECODER_VP8,
  FF_DECODER_VP9,
  FF_ENCODER_LIBVPX_VP8,
  FF_ENCODER_LIBVPX_VP9,
  SWS_POINT,
} from 'node-av/constants';
import type { AVPixelFormat, FFDecoderCodec, FFEncoderCodec } from 'node-av/constants';
import type { CodecFactory, CodecFrame, CodecInstance } from '../codec-host';
import { CodecError } from '../errors';
import { I420Converter } from './i420-converter';

/**
 * VP8 and VP9 through node-av (FFmpeg 8.1's libvpx encoders and native decoders). Encoding and decoding
 * use node-av's async calls, which run on the libuv pool: these codecs run in the inline host
 * (C1). The calling thread only copies I420 planes into an AVFrame (~0.1 ms for 720p), or for
 * RGBA input converts it with swscale (~1 ms). Timestamps are microseconds end to end (time
 * base 1/1 000 000).
 */

/** Microsecond time base: packets carry `ptsUs` as is. */
const US = new Rational(1, 1_000_000);

/** The libvpx codecs: VP8 (the most widely decodable, e.g. by every WebRTC stack) and VP9. */
export type VpxCodec = 'vp8' | 'vp9';

const ENCODERS: Record<VpxCodec, FFEncoderCodec> = {
  vp8: FF_ENCODER_LIBVPX_VP8,
  vp9: FF_ENCODER_LIBVPX_VP9,
};
/** FFmpeg's own decoders first (frame threads off: no added delay), libvpx's as a fallback. */
const DECODERS: Record<VpxCodec, readonly FFDecoderCodec[]> = {
  vp8: [FF_DECODER_VP8, FF_DECODER_LIBVPX_VP8],
  vp9: [FF_DECODER_VP9, FF_DECODER_LIBVPX_VP9],
};

/** What `createVpxDecoder` takes. */
export interface VpxDecoderInit {
  codec: VpxCodec;
  threads: number;
}

/** What `createVpxEncoder` takes (the encoder node's params, resolved). */
export interface VpxEncoderInit {
  codec: VpxCodec;
  width: number;
  height: number;
  /** Target bitrate, bits per second. */
  bitrate: number;
  /** Frames between forced keyframes. */
  keyframeInterval: number;
  /** libvpx `cpu-used` for the realtime deadline: 0 (best) … 8 (fastest). */
  speed: number;
  /** libvpx threads (VP9: row-based multithreading is on). */
  threads: number;
  /** Nominal frame rate (rate control only; timestamps come from the packets). */
  fps: number;
}

/** Throws a CodecError for a negative FFmpeg return code. */
function check(ret: number, what: string): number {
  if (ret < 0) throw new CodecError('codec_crashed', `${what}: ${new FFmpegError(ret).message}`);
  return ret;
}

/**
 * I420 frames (`meta.format: 'i420'`, as the encoder node sends them) or RGBA frames of one size
 * → VP8 or VP9 packets (libvpx realtime, no lookahead, so one packet per frame,
 * in order). `create` opens the encoder and encodes one dummy frame, discarding its packet: libvpx
 * allocates lazily and the first frame alone blocked for 100–460 ms measured here, so that cost is
 * paid at initialization, before the pipeline goes live. Output frames carry `meta.convert_us`
 * and `meta.encode_us` (the node reports them as stats).
 */
export const createVpxEncoder: CodecFactory = async (rawInit) => {
  const init = rawInit as VpxEncoderInit;
  const { width, height } = init;
  const name = ENCODERS[init.codec];
  const codec = Codec.findEncoderByName(name);
  if (!codec)
    throw new CodecError('codec_start_failed', `this FFmpeg build has no ${name} encoder`);
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.width = width;
  ctx.height = height;
  ctx.pixelFormat = AV_PIX_FMT_YUV420P;
  ctx.timeBase = US;
  ctx.framerate = new Rational(Math.round(init.fps * 1000), 1000);
  ctx.bitRate = BigInt(init.bitrate);
  ctx.gopSize = init.keyframeInterval;
  ctx.threadCount = init.threads;
  const options = Dictionary.fromObject({
    deadline: 'realtime',
    'cpu-used': String(init.speed),
    // No lookahead: each frame comes out as soon as it is encoded (latency, and one packet per frame).
    'lag-in-frames': '0',
    ...(init.codec === 'vp9'
      ? {
          'row-mt': '1',
          'tile-columns': String(Math.min(2, Math.floor(Math.log2(Math.max(1, init.threads))) + 1)),
        }
      : {}),
  });
  check(await ctx.open2(codec, options), `opening ${name}`);

  // Frames normally arrive already in I420 (the node converts them as they arrive, see
  // vpx-nodes.ts); RGBA frames are converted here, on the calling thread.
  let converter: I420Converter | undefined;
  const yuv = new Frame();
  yuv.alloc();
  yuv.width = width;
  yuv.height = height;
  yuv.format = AV_PIX_FMT_YUV420P;
  check(yuv.allocBuffer(), 'allocating the YUV frame');
  const packet = new Packet();
  packet.alloc();
  const rgbaBytes = width * height * 4;
  const i420Bytes = (width * height * 3) / 2;

  // The warm-up frame is encoded at pts 0; real frames go in one tick later so timestamps keep
  // increasing whatever the first real pts is, and come back out shifted back.
  const PTS_SHIFT = 1n;

  /** Copies an I420 buffer into the YUV frame's planes (their rows may be padded). */
  function loadI420(data: Uint8Array): void {
    // The encoder may still reference the last YUV buffer: only then is a copy made. (Asked only
    // when needed: node-av hands out new plane Buffers after every makeWritable, each reported to
    // V8 as 1.4 MB of external memory at 720p, which alone drove a full GC every few frames.)
    if (!yuv.isWritable) check(yuv.makeWritable(), 'making the YUV frame writable');
    const planes = yuv.data!;
    const strides = yuv.linesize;
    let offset = 0;
    for (let p = 0; p < 3; p++) {
      const w = p === 0 ? width : width / 2;
      const h = p === 0 ? height : height / 2;
      const plane = planes[p]!;
      const stride = strides[p]!;
      if (stride === w) plane.set(data.subarray(offset, offset + w * h));
      else
        for (let y = 0; y < h; y++)
          plane.set(data.subarray(offset + y * w, offset + (y + 1) * w), y * stride);
      offset += w * h;
    }
  }

  async function encode(data: Uint8Array | null, pts: bigint): Promise<CodecFrame[]> {
    if (data) {
      loadI420(data);
      yuv.pts = pts;
    }
    check(await ctx.sendFrame(data ? yuv : null), `sending a frame to ${name}`);
    // libvpx encoded the frame inside sendFrame (no lookahead): the packets are ready, and taking
    // them synchronously saves a libuv round trip per packet.
    const frames: CodecFrame[] = [];
    for (;;) {
      const ret = ctx.receivePacketSync(packet);
      if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) break;
      check(ret, `receiving a ${init.codec} packet`);
      frames.push({
        data: new Uint8Array(packet.data!),
        ptsUs: Number(packet.pts - PTS_SHIFT),
        keyframe: packet.isKeyframe,
      });
      packet.unref();
    }
    return frames;
  }

  // Warm-up: one black frame through conversion and encoder; its packet is dropped, and the first
  // real frame is forced to be a keyframe so the stream still starts on one.
  await encode(new Uint8Array(i420Bytes), 0n);
  let first = true;

  const instance: CodecInstance = {
    info: { width, height, codec: init.codec },
    async process(frame) {
      const meta = frame.meta ?? {};
      const i420 = meta.format === 'i420';
      if (
        meta.width !== width ||
        meta.height !== height ||
        frame.data.byteLength !== (i420 ? i420Bytes : rgbaBytes)
      ) {
        throw new CodecError(
          'bad_input',
          `frame is ${String(meta.width)}×${String(meta.height)}; the encoder was set up for ${width}×${height}`,
        );
      }
      let data = frame.data as Uint8Array;
      let convertUs = 0;
      if (!i420) {
        const t0 = performance.now();
        converter ??= new I420Converter(width, height);
        data = converter.convert(data);
        convertUs = (performance.now() - t0) * 1000;
      }
      yuv.pictType = first ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
      first = false;
      const t0 = performance.now();
      const frames = await encode(data, BigInt(frame.ptsUs ?? 0) + PTS_SHIFT);
      const encodeUs = (performance.now() - t0) * 1000;
      for (const f of frames)
        f.meta = { convert_us: Math.round(convertUs), encode_us: Math.round(encodeUs) };
      return frames;
    },
    async flush() {
      return encode(null, 0n);
    },
    close() {
      packet.free();
      yuv.free();
      converter?.close();
      ctx.freeContext();
    },
  };
  return instance;
};

/**
 * VP8 or VP9 packets → RGBA frames (FFmpeg's native decoder, frame threads off: one frame out per
 * packet in, no added delay). The YUV → RGBA converter is made on the first picture and again
 * whenever the size changes. Output frames carry `meta.width` and `meta.height`.
 */
export const createVpxDecoder: CodecFactory = async (rawInit) => {
  const { threads, codec: kind } = rawInit as VpxDecoderInit;
  const codec = DECODERS[kind]
    .map((name) => Codec.findDecoderByName(name))
    .find((c) => c !== null && c !== undefined);
  if (!codec)
    throw new CodecError('codec_start_failed', `this FFmpeg build has no ${kind} decoder`);
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.threadCount = threads;
  ctx.timeBase = US;
  ctx.pktTimebase = US;
  check(
    await ctx.open2(
      codec,
      Dictionary.fromObject({ threads: String(threads), thread_type: 'slice' }),
    ),
    `opening the ${kind} decoder`,
  );
  const packet = new Packet();
  packet.alloc();
  const yuv = new Frame();
  yuv.alloc();
  let sws: { ctx: SoftwareScaleContext; key: string; rgba: Frame } | undefined;

  async function toRgba(): Promise<CodecFrame> {
    const { width, height } = yuv;
    const key = `${width}x${height}:${yuv.format}`;
    if (sws?.key !== key) {
      sws?.ctx.freeContext();
      sws?.rgba.free();
      const s = new SoftwareScaleContext();
      s.getContext(
        width,
        height,
        yuv.format as AVPixelFormat,
        width,
        height,
        AV_PIX_FMT_RGBA,
        SWS_POINT,
      );
      const rgba = new Frame();
      rgba.alloc();
      rgba.width = width;
      rgba.height = height;
      rgba.format = AV_PIX_FMT_RGBA;
      check(rgba.allocBuffer(), 'allocating the RGBA frame');
      sws = { ctx: s, key, rgba };
    }
    if (!sws.rgba.isWritable) check(sws.rgba.makeWritable(), 'making the RGBA frame writable');
    check(await sws.ctx.scaleFrame(sws.rgba, yuv), 'converting YUV to RGBA');
    // toBuffer packs the rows (no stride padding): exactly width * 4 bytes per row.
    const data = new Uint8Array(sws.rgba.toBuffer());
    return { data, ptsUs: Number(yuv.pts), meta: { width, height } };
  }

  async function decode(data: Uint8Array | null, ptsUs: number): Promise<CodecFrame[]> {
    if (data) {
      packet.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      packet.pts = BigInt(ptsUs);
      packet.dts = BigInt(ptsUs);
    }
    check(await ctx.sendPacket(data ? packet : null), `sending a ${kind} packet`);
    if (data) packet.unref();
    const out: CodecFrame[] = [];
    for (;;) {
      const ret = await ctx.receiveFrame(yuv);
      if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) break;
      check(ret, `decoding a ${kind} frame`);
      out.push(await toRgba());
      yuv.unref();
    }
    return out;
  }

  return {
    info: { codec: kind },
    process: (frame) => decode(frame.data as Uint8Array, frame.ptsUs ?? 0),
    flush: () => decode(null, 0),
    close() {
      sws?.ctx.freeContext();
      sws?.rgba.free();
      yuv.free();
      packet.free();
      ctx.freeContext();
    },
  };
};
