/**
 * The WebM muxer end to end: a oneshot YAML pipeline (two colorbars → compositor → VP9 → WebM →
 * io::output) writes a file that node-av's demuxer (FFmpeg 8.1) reads back with the right frame
 * count, timestamps and duration; Debian's ffprobe is asked too when it is installed.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatContext, Packet } from 'node-av/lib';
import { AV_CODEC_ID_VP8, AV_CODEC_ID_VP9 } from 'node-av/constants';
import { runOneshot } from '@patchbay/engine';
import { importPipelineYaml } from '@patchbay/protocol';
import { createCodecRegistry } from '../register';
import { nodeClock } from '../testing/helpers';
import { vp8KeyframeSize, vp9KeyframeSize } from './vpx-header';

const dir = process.env.KEEP_WEBM ?? mkdtempSync(join(tmpdir(), 'patchbay-webm-'));
afterAll(() => {
  if (!process.env.KEEP_WEBM) rmSync(dir, { recursive: true, force: true });
});

const FRAMES = 60;
// The picture-in-picture source is shorter than the background: the compositor makes one frame
// per background frame, and a secondary that outlives the primary would drive extra frames after
// it (the compositor's documented hand-over), which is not what this test is about.
const FRAME_US = 1_000_000 / 30;

const PIP_YAML = `
name: Picture in picture as WebM
description: two test sources composited, CODEC realtime in WebM
mode: oneshot
nodes:
  bg:
    kind: video::colorbars
    params: { width: 1280, height: 720, fps: 30, frame_count: ${FRAMES} }
  cam:
    kind: video::colorbars
    params: { width: 640, height: 360, fps: 30, frame_count: ${FRAMES / 2} }
  mix:
    kind: video::compositor
    params:
      width: 1280
      height: 720
      layers:
        in_1: { rect: { x: 840, y: 460, width: 400, height: 225 }, opacity: 0.9 }
    needs: [bg, cam]
  enc:
    kind: video::CODEC::encoder
    params: { width: 1280, height: 720, bitrate: 2000000, keyframe_interval: 30, speed: 8, threads: 2 }
    needs: mix
  mux:
    kind: containers::webm::muxer
    params: { channels: 2, chunk_size: 16384, sample_rate: 48000, streaming: STREAMING }
    needs: enc
  out:
    kind: io::output
    needs: mux
`;

interface Demuxed {
  format: string;
  codecId: number;
  width: number;
  height: number;
  ptsMs: number[];
  keyframes: number;
  /** The container's Duration; undefined when it has none (a streamed file). */
  durationMs: number | undefined;
}

/** Reads every packet back with FFmpeg's demuxer (node-av), as a player would. */
async function demux(file: string): Promise<Demuxed> {
  const input = new FormatContext();
  if ((await input.openInput(file, null, null)) < 0) throw new Error('openInput failed');
  try {
    if ((await input.findStreamInfo(null)) < 0) throw new Error('findStreamInfo failed');
    const stream = input.streams[0]!;
    const tb = stream.timeBase;
    const toMs = (t: bigint) => (Number(t) * tb.num * 1000) / tb.den;
    const packet = new Packet();
    packet.alloc();
    const ptsMs: number[] = [];
    let keyframes = 0;
    while ((await input.readFrame(packet)) >= 0) {
      ptsMs.push(toMs(packet.pts));
      if (packet.isKeyframe) keyframes++;
      packet.unref();
    }
    packet.free();
    const duration = input.duration; // AV_TIME_BASE (µs); INT64_MIN when the file has none
    return {
      format: input.iformat?.name ?? '',
      codecId: stream.codecpar.codecId,
      width: stream.codecpar.width,
      height: stream.codecpar.height,
      ptsMs,
      keyframes,
      durationMs: duration > 0n ? Number(duration) / 1000 : undefined,
    };
  } finally {
    await input.closeInput();
  }
}

async function runPip(
  codec: 'vp8' | 'vp9',
  streaming: boolean,
): Promise<{ file: string; r: Awaited<ReturnType<typeof runOneshot>> }> {
  const registry = createCodecRegistry();
  const yaml = PIP_YAML.replace('STREAMING', String(streaming)).replaceAll('CODEC', codec);
  const imported = importPipelineYaml(yaml, registry);
  if (!imported.ok) throw new Error(JSON.stringify(imported.error));
  const file = join(dir, `pip-${codec}-${streaming ? 'streaming' : 'file'}.webm`);
  const r = await runOneshot(imported.value, {
    registry,
    clock: nodeClock(),
    io: { input: () => undefined, write: (chunk) => appendFileSync(file, chunk) },
  });
  return { file, r };
}

function ffprobe(
  file: string,
): { streams: Array<Record<string, unknown>>; format: Record<string, unknown> } | undefined {
  if (!existsSync('/usr/bin/ffprobe')) return undefined;
  const args = [
    '-v',
    'error',
    '-count_frames',
    '-show_entries',
    'stream=codec_name,width,height,nb_read_frames:format=format_name,duration',
    '-of',
    'json',
    file,
  ];
  return JSON.parse(execFileSync('/usr/bin/ffprobe', args, { encoding: 'utf8' })) as ReturnType<
    typeof ffprobe
  >;
}

describe('containers::webm::muxer', () => {
  const cases: Array<['vp8' | 'vp9', boolean]> = [
    ['vp9', false],
    ['vp9', true],
    ['vp8', false],
  ];
  for (const [codec, streaming] of cases) {
    it(`[C5] a oneshot YAML pipeline (colorbars ×2 → compositor → ${codec.toUpperCase()} → WebM${streaming ? ', streamed' : ''}) writes a file a standard demuxer reads back with the right frame count and ${streaming ? 'timestamps' : 'duration'}`, async () => {
      const { file, r } = await runPip(codec, streaming);
      expect(r.ok).toBe(true);
      expect(r.states.enc).toEqual({ status: 'stopped', reason: 'input_closed' });
      expect(r.states.mux).toEqual({ status: 'stopped', reason: 'input_closed' });
      expect(r.stats.mix?.frames_out).toBe(FRAMES);
      expect(r.stats.enc?.codec_frames_out).toBe(FRAMES);
      expect(readFileSync(file).subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])); // EBML magic

      const got = await demux(file);
      expect(got).toMatchObject({
        format: 'matroska,webm',
        codecId: codec === 'vp8' ? AV_CODEC_ID_VP8 : AV_CODEC_ID_VP9,
        width: 1280,
        height: 720,
      });
      // 30 fps in 1 ms ticks: frame i at round(i × 33.33) ms; the stream starts on a keyframe,
      // then one every keyframe_interval (30) frames.
      expect(got.ptsMs).toEqual(
        Array.from({ length: FRAMES }, (_, i) => Math.round((i * FRAME_US) / 1000)),
      );
      expect(got.keyframes).toBe(FRAMES / 30);
      // 60 frames of 1/30 s: 2 s. A streamed file has no Duration element (live-style).
      if (streaming) expect(got.durationMs).toBeUndefined();
      else expect(got.durationMs).toBeCloseTo((FRAMES * FRAME_US) / 1000, -1);

      const probe = ffprobe(file);
      if (probe) {
        expect(probe.streams).toEqual([
          { codec_name: codec, width: 1280, height: 720, nb_read_frames: String(FRAMES) },
        ]);
        expect(probe.format.format_name).toBe('matroska,webm');
        if (!streaming) expect(Number(probe.format.duration)).toBeCloseTo(FRAMES / 30, 2);
      }
    });
  }

  it('reads the frame size from a VP9 keyframe header and refuses anything else', () => {
    // profile 0 keyframe: marker 10, profile 00, show_existing 0, frame_type 0, show 1, er 0,
    // sync code, colour space 2 (BT.709) + range 0, then 1279 and 719 in 16 bits each.
    const bits =
      '10' +
      '00' +
      '0' +
      '0' +
      '1' +
      '0' +
      (0x498342).toString(2).padStart(24, '0') +
      '010' +
      '0' +
      (1279).toString(2).padStart(16, '0') +
      (719).toString(2).padStart(16, '0');
    const bytes = new Uint8Array(Math.ceil(bits.length / 8));
    for (let i = 0; i < bits.length; i++) if (bits[i] === '1') bytes[i >> 3]! |= 0x80 >> (i & 7);
    expect(vp9KeyframeSize(bytes)).toEqual({ width: 1280, height: 720 });
    bytes[0]! |= 0x08; // frame_type 1: an inter frame
    expect(vp9KeyframeSize(bytes)).toBeUndefined();
    expect(vp9KeyframeSize(new Uint8Array([0x82]))).toBeUndefined();
  });

  it('reads the frame size from a VP8 keyframe header and refuses anything else', () => {
    // Frame tag (keyframe: low bit 0, show_frame, first partition size), start code, then
    // 14-bit width 1280 and height 720 with scaling bits 0.
    const key = new Uint8Array([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02]);
    expect(vp8KeyframeSize(key)).toEqual({ width: 1280, height: 720 });
    // Scaling bits above the 14-bit sizes are not part of the size.
    const scaled = key.slice();
    scaled[7]! |= 0x40;
    scaled[9]! |= 0x80;
    expect(vp8KeyframeSize(scaled)).toEqual({ width: 1280, height: 720 });
    const inter = key.slice();
    inter[0]! |= 1;
    expect(vp8KeyframeSize(inter)).toBeUndefined();
    const noStartCode = key.slice();
    noStartCode[4] = 0;
    expect(vp8KeyframeSize(noStartCode)).toBeUndefined();
    expect(vp8KeyframeSize(key.subarray(0, 9))).toBeUndefined();
  });
});
