import { FormatContext, IOContext, Packet, Rational } from 'node-av/lib';
import {
  AVFLAG_NONE,
  AVMEDIA_TYPE_VIDEO,
  AV_CODEC_ID_VP9,
  AV_PKT_FLAG_KEY,
} from 'node-av/constants';
import type { CodecFrame, CodecInstance } from '../codec-host';
import { CodecError } from '../errors';
import { vp9KeyframeSize } from './vp9-header';

/** Matroska's usual timestamp scale: 1 ms ticks. */
const MS = new Rational(1, 1000);
/** Bytes FFmpeg's I/O layer buffers before it calls our write callback. */
const IO_BUFFER_BYTES = 64 * 1024;

export interface WebmMuxerOptions {
  /** Bytes collected before output is handed on; 0 hands on every write. */
  chunkSize: number;
  /**
   * true: stream the file as it is made (live-style: no Duration, no Cues). false: keep the whole
   * file in memory and hand it on at the end, after FFmpeg seeked back to write the Duration,
   * segment size and Cues: a complete file, for a oneshot that writes one.
   */
  streaming: boolean;
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
 * VP9 packets → WebM, through FFmpeg's `webm` muxer writing to a callback. Streaming, the output
 * is not seekable (it goes downstream as it is made), so the file is live-style: a Segment of
 * unknown size, Clusters as they fill, no Duration and no Cues (demuxers read every frame and
 * timestamp, but report no duration: a MediaRecorder file has the same shape). Not streaming,
 * FFmpeg writes into memory it can seek in, and the file handed on at the end has its Duration,
 * sizes and Cues. Each packet is held until the next one arrives: its duration is the gap to the
 * next (the last one repeats the previous gap), which is what makes the Duration right. The header waits for the first keyframe: the track needs the
 * frame size, read from the keyframe itself. All calls are synchronous and O(bytes).
 */
export function createWebmMuxer(options: WebmMuxerOptions): CodecInstance {
  let out: Uint8Array[] = [];
  let outBytes = 0;
  let fmt: FormatContext | undefined;
  let io: IOContext | undefined;
  let held: CodecFrame | undefined;
  let lastDurationUs = 0;
  const memory = options.streaming ? undefined : new MemoryFile();
  const packet = new Packet();
  packet.alloc();

  function open(size: { width: number; height: number }): FormatContext {
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
    const stream = ctx.newStream(null);
    stream.codecpar.codecType = AVMEDIA_TYPE_VIDEO;
    stream.codecpar.codecId = AV_CODEC_ID_VP9;
    stream.codecpar.width = size.width;
    stream.codecpar.height = size.height;
    stream.timeBase = MS;
    check(ctx.writeHeaderSync(), 'writing the WebM header');
    io = pb;
    return ctx;
  }

  function write(frame: CodecFrame, durationUs: number): void {
    const ctx = fmt!;
    const data = frame.data as Uint8Array;
    const tb = ctx.streams[0]!.timeBase;
    packet.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    packet.streamIndex = 0;
    // µs → the stream's time base (the muxer may have changed it; Matroska's default is 1 ms).
    packet.pts = BigInt(Math.round(((frame.ptsUs ?? 0) * tb.den) / (tb.num * 1_000_000)));
    packet.dts = packet.pts;
    packet.duration = BigInt(Math.round((durationUs * tb.den) / (tb.num * 1_000_000)));
    packet.flags = frame.keyframe ? AV_PKT_FLAG_KEY : AVFLAG_NONE;
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
      if (!fmt) {
        const size = frame.keyframe ? vp9KeyframeSize(frame.data as Uint8Array) : undefined;
        if (!size)
          throw new CodecError(
            'bad_input',
            'the first VP9 packet must be a keyframe (the WebM header needs its frame size)',
          );
        fmt = open(size);
      }
      if (held) {
        lastDurationUs = Math.max(0, (frame.ptsUs ?? 0) - (held.ptsUs ?? 0));
        write(held, lastDurationUs);
      }
      // The packet may be shared by a fan-out, and is written on the next call: keep a reference
      // only (packets are immutable once sent).
      held = frame;
      return take(false);
    },
    flush() {
      if (!fmt) return [];
      if (held) write(held, lastDurationUs);
      held = undefined;
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

function check(ret: number, what: string): void {
  if (ret < 0) throw new CodecError('codec_crashed', `${what}: FFmpeg error ${ret}`);
}
