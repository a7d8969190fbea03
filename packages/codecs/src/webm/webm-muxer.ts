import { Dictionary, FormatContext, IOContext, Packet, Rational } from 'node-av/lib';
import type { Stream } from 'node-av/lib';
import {
  AVFLAG_NONE,
  AVMEDIA_TYPE_AUDIO,
  AVMEDIA_TYPE_VIDEO,
  AV_CHANNEL_ORDER_NATIVE,
  AV_CODEC_ID_OPUS,
  AV_CODEC_ID_VP8,
  AV_CODEC_ID_VP9,
  AV_PKT_DATA_SKIP_SAMPLES,
  AV_PKT_FLAG_KEY,
} from 'node-av/constants';
import type { CodecFrame, CodecInstance } from '../codec-host';
import { CodecError } from '../errors';
import { OPUS_SAMPLE_RATE, opusPacketSamples } from '../opus/opus-packet';
import { opusHead } from '../opus/opus-head';
import { vpxKeyframeSize } from './vpx-header';

/** Matroska's usual timestamp scale: 1 ms ticks. */
const MS = new Rational(1, 1000);
/** Bytes FFmpeg's I/O layer buffers before it calls our write callback. */
const IO_BUFFER_BYTES = 64 * 1024;
/** Audio-only files start a Cluster every this many ms (with video, keyframes start them). */
export const WEBM_AUDIO_CLUSTER_MS = 1_000;
/**
 * With video a Cluster starts on each keyframe, so the time limit is only a backstop for rare
 * keyframes; FFmpeg also starts one whenever a block's offset would overflow its int16 ms. As the
 * WebM guidelines ask, FFmpeg puts the audio block whose time span holds the keyframe's timestamp
 * (at most one Opus frame earlier) in the keyframe's Cluster, so such a Cluster opens with it.
 */
const WEBM_VIDEO_CLUSTER_MS = 30_000;
/** Big enough that only keyframes and time end a Cluster (FFmpeg's streaming default is 32 KiB). */
const WEBM_CLUSTER_MAX_BYTES = 64 * 1024 * 1024;

export interface WebmMuxerOptions {
  /** Bytes collected before output is handed on; 0 hands on every write. */
  chunkSize: number;
  /**
   * true: stream the file as it is made (live-style: no Duration, no Cues). false: keep the whole
   * file in memory and hand it on at the end, after FFmpeg seeked back to write the Duration,
   * segment size and Cues: a complete file, for a oneshot that writes one.
   */
  streaming: boolean;
  /** The Opus track, when the header lists one: OpusHead's channels, pre-skip and input rate. */
  audio?: { channels: number; preSkip: number; inputSampleRate: number };
}

/** `whence` values of FFmpeg's seek callback. */
const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;
const AVSEEK_SIZE = 0x10000;

/** A growable in-memory file FFmpeg can seek in (the non-streaming mode). */
class MemoryFile {
  bytes = new Uint8Array(1 << 20);
  size = 0;
  pos = 0;
  write(buffer: Uint8Array): void {
    const end = this.pos + buffer.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.size));
      this.bytes = grown;
    }
    this.bytes.set(buffer, this.pos);
    this.pos = end;
    this.size = Math.max(this.size, end);
  }
  seek(offset: number, whence: number): number {
    if (whence & AVSEEK_SIZE) return this.size;
    const base =
      whence === SEEK_CUR
        ? this.pos
        : whence === SEEK_END
          ? this.size
          : whence === SEEK_SET
            ? 0
            : NaN;
    const to = base + offset;
    if (!(to >= 0)) return -22; // AVERROR(EINVAL)
    this.pos = to;
    return to;
  }
}

/**
 * WebM through FFmpeg's `webm` muxer writing to a callback: a VP8 or VP9 track, an Opus track, or both.
 * Frames come from `WebmInterleaver`: first a header frame (`meta.header`, which tracks; its data
 * is the first video keyframe, whose header gives the frame size), then every packet in
 * timestamp order with `meta.track` and its duration. Streaming, the output is not seekable (it
 * goes downstream as it is made), so the file is live-style: a Segment of unknown size, Clusters
 * as they fill, no Duration and no Cues (demuxers read every frame and timestamp, but report no
 * duration: a MediaRecorder file has the same shape). Not streaming, FFmpeg writes into memory it
 * can seek in, and the file handed on at the end has its Duration, sizes and Cues. All calls are
 * synchronous and O(bytes).
 *
 * The Opus track: CodecID A_OPUS, CodecPrivate = OpusHead, CodecDelay = the pre-skip in ns and
 * SeekPreRoll 80 ms (FFmpeg writes both for Opus from `initial_padding`), 48 kHz. A Block's
 * timestamp minus CodecDelay is when its first decoded sample plays, so an Opus packet's block
 * timestamp is its `ptsUs` (the encoder's packet 0 decodes to the pre-skip, then input sample 0
 * at time 0). FFmpeg adds the pre-skip to audio timestamps itself, so it is given `pts − pre-skip`.
 */
export function createWebmMuxer(options: WebmMuxerOptions): CodecInstance {
  let out: Uint8Array[] = [];
  let outBytes = 0;
  let fmt: FormatContext | undefined;
  let io: IOContext | undefined;
  const streams: { video?: Stream; audio?: Stream } = {};
  /** FFmpeg's audio timestamp offset (the pre-skip in the stream's time base). */
  let audioOffset = 0n;
  const memory = options.streaming ? undefined : new MemoryFile();
  const packet = new Packet();
  packet.alloc();

  function open(header: CodecFrame): FormatContext {
    const hasVideo = header.meta?.video === true;
    const hasAudio = header.meta?.audio === true;
    const codec = String(header.meta?.codec ?? 'vp9');
    const size =
      hasVideo && header.keyframe ? vpxKeyframeSize(codec, header.data as Uint8Array) : undefined;
    if (hasVideo && !size)
      throw new CodecError(
        'bad_input',
        `the first ${codec} packet must be a keyframe (the WebM header needs its frame size)`,
      );
    const ctx = new FormatContext();
    ctx.allocOutputContext2(null, 'webm', null);
    const pb = new IOContext();
    if (memory) {
      const file = memory;
      pb.allocContextWithCallbacks(
        IO_BUFFER_BYTES,
        1,
        null,
        (buffer: Buffer) => {
          file.write(buffer);
          return buffer.length;
        },
        (offset: bigint, whence: number) => BigInt(file.seek(Number(offset), whence)),
      );
    } else {
      pb.allocContextWithCallbacks(IO_BUFFER_BYTES, 1, null, (buffer: Buffer) => {
        // FFmpeg reuses its buffer after the callback returns: keep a copy.
        out.push(new Uint8Array(buffer));
        outBytes += buffer.length;
        return buffer.length;
      });
    }
    ctx.pb = pb;
    if (size) {
      const stream = ctx.newStream(null);
      stream.codecpar.codecType = AVMEDIA_TYPE_VIDEO;
      stream.codecpar.codecId = codec === 'vp8' ? AV_CODEC_ID_VP8 : AV_CODEC_ID_VP9;
      stream.codecpar.width = size.width;
      stream.codecpar.height = size.height;
      stream.timeBase = MS;
      streams.video = stream;
    }
    if (hasAudio) {
      const a = options.audio;
      if (!a) throw new CodecError('host_misuse', 'an Opus track without audio options');
      const stream = ctx.newStream(null);
      const par = stream.codecpar;
      par.codecType = AVMEDIA_TYPE_AUDIO;
      par.codecId = AV_CODEC_ID_OPUS;
      par.sampleRate = OPUS_SAMPLE_RATE;
      par.channelLayout = {
        nbChannels: a.channels,
        order: AV_CHANNEL_ORDER_NATIVE,
        mask: a.channels === 1 ? 0x4n : 0x3n, // front centre; front left + right
      };
      par.initialPadding = a.preSkip;
      par.extradata = Buffer.from(opusHead(a));
      stream.timeBase = MS;
      streams.audio = stream;
    }
    const clusterMs = size ? WEBM_VIDEO_CLUSTER_MS : WEBM_AUDIO_CLUSTER_MS;
    const opts = Dictionary.fromObject({
      cluster_time_limit: clusterMs,
      cluster_size_limit: WEBM_CLUSTER_MAX_BYTES,
    });
    check(ctx.writeHeaderSync(opts), 'writing the WebM header');
    opts.free();
    if (streams.audio) {
      // The same rounding as FFmpeg's av_rescale_q (to nearest, halves away from zero).
      const tb = streams.audio.timeBase;
      const preSkip = options.audio?.preSkip ?? 0;
      audioOffset = BigInt(Math.round((preSkip * tb.den) / (OPUS_SAMPLE_RATE * tb.num)));
    }
    io = pb;
    return ctx;
  }

  function write(frame: CodecFrame): void {
    const ctx = fmt!;
    const audio = frame.meta?.track === 'audio';
    const stream = audio ? streams.audio : streams.video;
    if (!stream) throw new CodecError('bad_input', `no ${String(frame.meta?.track)} track`);
    const data = frame.data as Uint8Array;
    const tb = stream.timeBase;
    const toTb = (us: number) => BigInt(Math.round((us * tb.den) / (tb.num * 1_000_000)));
    packet.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    packet.streamIndex = stream.index;
    // µs → the stream's time base (the muxer may have changed it; Matroska's default is 1 ms).
    packet.pts = toTb(frame.ptsUs ?? 0) - (audio ? audioOffset : 0n);
    packet.dts = packet.pts;
    packet.duration = toTb(frame.durationUs ?? 0);
    packet.flags = audio || frame.keyframe ? AV_PKT_FLAG_KEY : AVFLAG_NONE;
    const trimmed = audio ? endTrim(data, frame.durationUs) : 0;
    if (trimmed > 0) {
      // The encoder's padded last packet: FFmpeg writes its end trim as the block's
      // DiscardPadding, so players drop the padding instead of playing it.
      const skip = Buffer.alloc(10);
      skip.writeUInt32LE(trimmed, 4);
      check(packet.addSideData(AV_PKT_DATA_SKIP_SAMPLES, skip), 'marking the end trim');
    }
    check(ctx.writeFrameSync(packet), 'writing a WebM block');
    packet.unref();
  }

  function take(all: boolean): CodecFrame[] {
    if (outBytes === 0 || (!all && outBytes < options.chunkSize)) return [];
    const chunk = new Uint8Array(outBytes);
    let at = 0;
    for (const b of out) {
      chunk.set(b, at);
      at += b.length;
    }
    out = [];
    outBytes = 0;
    return [{ data: chunk }];
  }

  return {
    info: { container: 'webm' },
    process(frame) {
      if (frame.meta?.header === true) {
        if (fmt) throw new CodecError('host_misuse', 'a second WebM header');
        fmt = open(frame);
      } else {
        if (!fmt) throw new CodecError('host_misuse', 'a WebM packet before the header');
        write(frame);
      }
      return take(false);
    },
    flush() {
      if (!fmt) return [];
      check(fmt.writeTrailerSync(), 'writing the WebM trailer');
      io?.flushSync();
      if (memory) {
        const step = options.chunkSize > 0 ? options.chunkSize : memory.size;
        const chunks: CodecFrame[] = [];
        for (let at = 0; at < memory.size; at += step)
          chunks.push({ data: memory.bytes.slice(at, Math.min(memory.size, at + step)) });
        return chunks;
      }
      return take(true);
    },
    close() {
      packet.free();
      if (fmt) {
        fmt.pb = null;
        fmt.freeContext();
      }
      io?.freeContext();
    },
  };
}

/**
 * Samples at the end of an Opus packet that are padding: what the packet decodes to minus its
 * `durationUs` (the encoder marks the real length of its last, padded frame). 0 when the packet
 * is whole or its duration is not given.
 */
function endTrim(packet: Uint8Array, durationUs: number | undefined): number {
  if (!durationUs || durationUs <= 0) return 0;
  const samples = opusPacketSamples(packet);
  return Math.max(0, samples - Math.round((durationUs * OPUS_SAMPLE_RATE) / 1e6));
}

function check(ret: number, what: string): void {
  if (ret < 0) throw new CodecError('codec_crashed', `${what}: FFmpeg error ${ret}`);
}
