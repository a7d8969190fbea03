/**
 * The WebM muxer's Opus track end to end, through oneshot YAML pipelines: audio only (sine →
 * Opus → WebM), VP9 + Opus (colorbars + sine), and an input that closes without data. Each file
 * is read back by node-av's demuxer (FFmpeg 8.1), by Debian's ffprobe when installed, and by a
 * small EBML walk below that checks what the demuxers smooth over: the Opus track header, and
 * clusters and blocks in time order.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Codec, CodecContext, FormatContext, Frame, Packet } from 'node-av/lib';
import { AVERROR_EAGAIN, AVERROR_EOF, AVMEDIA_TYPE_AUDIO } from 'node-av/constants';
import { defineNode, runOneshot } from '@patchbay/engine';
import { importPipelineYaml } from '@patchbay/protocol';
import { z } from 'zod';
import { createCodecRegistry } from '../register';
import { nodeClock } from '../testing/helpers';

const dir = process.env.KEEP_WEBM ?? mkdtempSync(join(tmpdir(), 'patchbay-webm-opus-'));
afterAll(() => {
  if (!process.env.KEEP_WEBM) rmSync(dir, { recursive: true, force: true });
});

const TONE_HZ = 440;
const TONE_AMPLITUDE = 0.5;
const DURATION_MS = 2_000;
const PRE_SKIP = 312;
/** 2 s + the pre-skip in 20 ms packets: ceil((96 000 + 312) / 960). */
const OPUS_PACKETS = Math.ceil((48 * DURATION_MS + PRE_SKIP) / 960);
const FPS = 30;
const VIDEO_FRAMES = (DURATION_MS / 1000) * FPS;
const OPUS_FRAME_MS = 20;
const VIDEO_FRAME_MS = 1000 / FPS;

const AUDIO_YAML = (streaming: boolean) => `
name: Tone as WebM
mode: oneshot
nodes:
  tone:
    kind: audio::sine
    params: { frequency_hz: ${TONE_HZ}, amplitude: ${TONE_AMPLITUDE}, duration_ms: ${DURATION_MS} }
  opus:
    kind: audio::opus::encoder
    params: { bitrate: 64000 }
    needs: tone
  mux:
    kind: containers::webm::muxer
    params: { channels: 1, streaming: ${streaming} }
    needs: { audio: opus }
  out:
    kind: io::output
    needs: mux
`;

const AV_YAML = (streaming: boolean, video = 'enc') => `
name: Colour bars and tone as WebM
mode: oneshot
nodes:
  bars:
    kind: video::colorbars
    params: { width: 320, height: 240, fps: ${FPS}, frame_count: ${VIDEO_FRAMES} }
  enc:
    kind: video::vp9::encoder
    params: { width: 320, height: 240, bitrate: 500000, keyframe_interval: ${FPS}, speed: 8 }
    needs: bars
  ${video === 'silent' ? 'silent: { kind: test::no_video }' : ''}
  tone:
    kind: audio::sine
    params: { frequency_hz: ${TONE_HZ}, amplitude: ${TONE_AMPLITUDE}, duration_ms: ${DURATION_MS} }
  opus:
    kind: audio::opus::encoder
    needs: tone
  mux:
    kind: containers::webm::muxer
    params: { channels: 1, streaming: ${streaming} }
    needs: { in: ${video}, audio: opus }
  out:
    kind: io::output
    needs: mux
`;

/** An encoded-video source that ends at once without a packet. */
const noVideo = defineNode({
  kind: 'test::no_video',
  description: 'ends without sending anything',
  params: z.object({}),
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'encoded_video' }] }),
  create: () => ({ run: async () => 'completed' }),
});

async function run(yaml: string, name: string) {
  const registry = createCodecRegistry().register(noVideo);
  const imported = importPipelineYaml(yaml, registry);
  if (!imported.ok) throw new Error(JSON.stringify(imported.error));
  const file = join(dir, `${name}.webm`);
  const r = await runOneshot(imported.value, {
    registry,
    clock: nodeClock(),
    io: { input: () => undefined, write: (chunk) => appendFileSync(file, chunk) },
  });
  return { file, r };
}

interface DemuxedStream {
  codec: string;
  channels: number;
  sampleRate: number;
  ptsMs: number[];
  durationsMs: number[];
}

/** Every packet, per stream, as FFmpeg's demuxer reads them; `decode` also decodes the audio. */
async function demux(
  file: string,
  decode = false,
): Promise<{ streams: DemuxedStream[]; durationMs?: number; pcm: Float32Array }> {
  const input = new FormatContext();
  if ((await input.openInput(file, null, null)) < 0) throw new Error('openInput failed');
  const pcm: number[] = [];
  try {
    if ((await input.findStreamInfo(null)) < 0) throw new Error('findStreamInfo failed');
    const streams: DemuxedStream[] = input.streams.map((s) => ({
      codec: Codec.findDecoder(s.codecpar.codecId)?.name ?? '?',
      channels: s.codecpar.channelLayout.nbChannels,
      sampleRate: s.codecpar.sampleRate,
      ptsMs: [],
      durationsMs: [],
    }));
    const audioIndex = input.streams.findIndex((s) => s.codecpar.codecType === AVMEDIA_TYPE_AUDIO);
    let dec: CodecContext | undefined;
    const frame = new Frame();
    frame.alloc();
    if (decode && audioIndex >= 0) {
      const par = input.streams[audioIndex]!.codecpar;
      const codec = Codec.findDecoder(par.codecId)!;
      dec = new CodecContext();
      dec.allocContext3(codec);
      expect(dec.parametersToContext(par)).toBeGreaterThanOrEqual(0);
      expect(await dec.open2(codec, null)).toBeGreaterThanOrEqual(0);
    }
    const drain = async () => {
      for (;;) {
        const ret = await dec!.receiveFrame(frame);
        if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) break;
        expect(ret).toBeGreaterThanOrEqual(0);
        // FFmpeg's Opus decoder gives planar float: the first plane is the (only) channel.
        const plane = frame.data![0]!;
        const f32 = new Float32Array(plane.buffer, plane.byteOffset, frame.nbSamples);
        for (const v of f32) pcm.push(v);
        frame.unref();
      }
    };
    const packet = new Packet();
    packet.alloc();
    while ((await input.readFrame(packet)) >= 0) {
      const s = input.streams[packet.streamIndex]!;
      const toMs = (t: bigint) => (Number(t) * s.timeBase.num * 1000) / s.timeBase.den;
      streams[packet.streamIndex]!.ptsMs.push(toMs(packet.pts));
      streams[packet.streamIndex]!.durationsMs.push(toMs(packet.duration));
      if (dec && packet.streamIndex === audioIndex) {
        expect(await dec.sendPacket(packet)).toBeGreaterThanOrEqual(0);
        await drain();
      }
      packet.unref();
    }
    if (dec) {
      await dec.sendPacket(null);
      await drain();
      dec.freeContext();
    }
    packet.free();
    frame.free();
    const duration = input.duration;
    return {
      streams,
      durationMs: duration > 0n ? Number(duration) / 1000 : undefined,
      pcm: Float32Array.from(pcm),
    };
  } finally {
    await input.closeInput();
  }
}

function ffprobe(file: string): Array<Record<string, unknown>> | undefined {
  if (!existsSync('/usr/bin/ffprobe')) return undefined;
  const args = ['-v', 'error', '-count_packets', '-show_entries'];
  args.push('stream=codec_name,channels,sample_rate,nb_read_packets', '-of', 'json', file);
  const out = execFileSync('/usr/bin/ffprobe', args, { encoding: 'utf8' });
  return (JSON.parse(out) as { streams: Array<Record<string, unknown>> }).streams;
}

// --- A minimal EBML walk (Matroska element IDs keep their length marker) ---

const ID = {
  Segment: 0x18538067,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
} as const;
const MASTERS = new Set<number>([
  ID.Segment,
  ID.Tracks,
  ID.TrackEntry,
  ID.Audio,
  ID.Cluster,
  ID.BlockGroup,
]);

interface Element {
  id: number;
  data: Uint8Array;
  children: Element[];
}

function vint(b: Uint8Array, at: number, keepMarker: boolean): { value: number; len: number } {
  const first = b[at]!;
  let len = 1;
  while (len <= 8 && !(first & (0x80 >> (len - 1)))) len++;
  let value = keepMarker ? first : first & (0xff >> len);
  let allOnes = value === 0xff >> len;
  for (let i = 1; i < len; i++) {
    value = value * 256 + b[at + i]!;
    allOnes &&= b[at + i] === 0xff;
  }
  return { value: !keepMarker && allOnes ? -1 : value, len };
}

function parse(b: Uint8Array, start = 0, end = b.length): Element[] {
  const out: Element[] = [];
  let at = start;
  while (at < end) {
    const id = vint(b, at, true);
    const size = vint(b, at + id.len, false);
    const from = at + id.len + size.len;
    const to = size.value < 0 ? end : from + size.value; // unknown size: to the parent's end
    const data = b.subarray(from, to);
    out.push({ id: id.value, data, children: MASTERS.has(id.value) ? parse(b, from, to) : [] });
    at = to;
  }
  return out;
}

const uint = (d: Uint8Array) => d.reduce((v, x) => v * 256 + x, 0);
const child = (e: Element, id: number) => e.children.find((c) => c.id === id);

interface WebmLayout {
  tracks: Array<Record<string, unknown>>;
  /** Per cluster: its timestamp and its blocks' (track type, absolute ms). */
  clusters: Array<{ ts: number; blocks: Array<{ type: number; ms: number; key: boolean }> }>;
}

function layout(file: string): WebmLayout {
  const top = parse(new Uint8Array(readFileSync(file)));
  const segment = top.find((e) => e.id === ID.Segment)!;
  const typeOf = new Map<number, number>();
  const tracks = child(segment, ID.Tracks)!.children.map((t) => {
    const audio = child(t, ID.Audio);
    const get = (e: Element | undefined, id: number) => (e ? child(e, id)?.data : undefined);
    const freq = get(audio, ID.SamplingFrequency);
    typeOf.set(uint(get(t, ID.TrackNumber)!), uint(get(t, ID.TrackType)!));
    return {
      type: uint(get(t, ID.TrackType)!),
      codec: new TextDecoder().decode(get(t, ID.CodecID)),
      codecPrivate: get(t, ID.CodecPrivate),
      codecDelayNs: get(t, ID.CodecDelay) && uint(get(t, ID.CodecDelay)!),
      seekPreRollNs: get(t, ID.SeekPreRoll) && uint(get(t, ID.SeekPreRoll)!),
      samplingFrequency:
        freq && new DataView(freq.buffer, freq.byteOffset, freq.byteLength).getFloat64(0),
      channels: get(audio, ID.Channels) && uint(get(audio, ID.Channels)!),
    };
  });
  const clusters = segment.children
    .filter((e) => e.id === ID.Cluster)
    .map((c) => {
      const ts = uint(child(c, ID.Timestamp)!.data);
      const blocks = c.children.flatMap((e) => {
        const simple = e.id === ID.SimpleBlock;
        const block = simple ? e.data : child(e, ID.Block)?.data;
        if (!block) return [];
        const track = vint(block, 0, false);
        const view = new DataView(block.buffer, block.byteOffset + track.len, 3);
        // SimpleBlock flags: 0x80 keyframe (a Block in a BlockGroup has no such flag).
        const key = simple && (view.getUint8(2) & 0x80) !== 0;
        return [{ type: typeOf.get(track.value)!, ms: ts + view.getInt16(0), key }];
      });
      return { ts, blocks };
    });
  return { tracks, clusters };
}

/** Every cluster after the one before it, and every block of a cluster in time order. */
function expectTimeOrder(clusters: WebmLayout['clusters']): void {
  for (let i = 1; i < clusters.length; i++)
    expect(clusters[i]!.ts).toBeGreaterThan(clusters[i - 1]!.ts);
  for (const c of clusters) {
    const ms = c.blocks.map((b) => b.ms);
    expect(ms).toEqual([...ms].sort((a, b) => a - b));
    expect(ms[0]).toBeGreaterThanOrEqual(c.ts);
  }
}

function expectOpusTrack(track: Record<string, unknown> | undefined): void {
  expect(track).toMatchObject({
    type: 2,
    codec: 'A_OPUS',
    codecDelayNs: Math.round((PRE_SKIP * 1e9) / 48_000),
    seekPreRollNs: 80_000_000,
    samplingFrequency: 48_000,
    channels: 1,
  });
  // OpusHead: magic, version 1, 1 channel, pre-skip, input rate 48 kHz, gain 0, family 0.
  const head = track!.codecPrivate as Uint8Array;
  expect(new TextDecoder().decode(head.subarray(0, 8))).toBe('OpusHead');
  expect([...head.subarray(8, 19)]).toEqual([
    1,
    1,
    PRE_SKIP & 0xff,
    PRE_SKIP >> 8,
    0x80,
    0xbb,
    0,
    0,
    0,
    0,
    0,
  ]);
}

/** SNR (dB) of `got` against the sine, at the lag (±10 ms) that matches best. */
function sineSnrDb(got: Float32Array): number {
  const w = (2 * Math.PI * TONE_HZ) / 48_000;
  const ref = (i: number) => TONE_AMPLITUDE * Math.sin(w * i);
  const from = 4_800; // skip the first and last 100 ms (encoder start-up, end trimming)
  const to = got.length - 4_800;
  let best = -Infinity;
  for (let lag = -480; lag <= 480; lag++) {
    let signal = 0;
    let noise = 0;
    for (let i = from; i < to; i++) {
      const r = ref(i - lag);
      signal += r * r;
      noise += (got[i]! - r) ** 2;
    }
    best = Math.max(best, 10 * Math.log10(signal / noise));
  }
  return best;
}

describe('containers::webm::muxer: Opus tracks', () => {
  for (const streaming of [false, true]) {
    it(`[C5] audio only${streaming ? ', streamed' : ''} (sine → Opus → WebM): one Opus stream a standard demuxer reads with the right packet count and duration, decoding back to the sine at ≥ 25 dB SNR`, async () => {
      const { file, r } = await run(AUDIO_YAML(streaming), `tone-${streaming}`);
      expect(r.ok).toBe(true);
      expect(r.states.mux).toEqual({ status: 'stopped', reason: 'input_closed' });

      const got = await demux(file, true);
      expect(got.streams).toHaveLength(1);
      const [opus] = got.streams;
      expect(opus).toMatchObject({ codec: 'opus', channels: 1, sampleRate: 48_000 });
      expect(opus!.ptsMs).toHaveLength(OPUS_PACKETS);
      // Block timestamps are the packets' pts; the demuxer reports them minus CodecDelay (6.5 ms).
      const end = opus!.ptsMs.at(-1)! + opus!.durationsMs.at(-1)!;
      expect(Math.abs(end - DURATION_MS)).toBeLessThanOrEqual(OPUS_FRAME_MS);
      if (streaming) expect(got.durationMs).toBeUndefined();
      else expect(Math.abs(got.durationMs! - DURATION_MS)).toBeLessThanOrEqual(OPUS_FRAME_MS);
      // Exactly the input: the pre-skip goes by CodecDelay, the last packet's padding by its
      // block's DiscardPadding.
      expect(got.pcm.length).toBe(48 * DURATION_MS);
      expect(sineSnrDb(got.pcm)).toBeGreaterThanOrEqual(25);

      const webm = layout(file);
      expect(webm.tracks).toHaveLength(1);
      expectOpusTrack(webm.tracks[0]);
      // Audio only: a cluster about every second, blocks in time order.
      expect(webm.clusters.length).toBeGreaterThanOrEqual(2);
      expect(webm.clusters.length).toBeLessThanOrEqual(3);
      expectTimeOrder(webm.clusters);
      expect(webm.clusters.flatMap((c) => c.blocks)).toHaveLength(OPUS_PACKETS);

      const probe = ffprobe(file);
      if (probe)
        expect(probe).toEqual([
          expect.objectContaining({
            codec_name: 'opus',
            channels: 1,
            sample_rate: '48000',
            nb_read_packets: String(OPUS_PACKETS),
          }),
        ]);
    });
  }

  for (const streaming of [false, true]) {
    it(`[C5] VP9 + Opus${streaming ? ', streamed' : ''} (colorbars + sine, 2 s): both tracks, every frame and packet, timestamps non-decreasing per stream, durations within a frame, clusters on keyframes in time order`, async () => {
      const { file, r } = await run(AV_YAML(streaming), `bars-and-tone-${streaming}`);
      expect(r.ok).toBe(true);
      expect(r.states.mux).toEqual({ status: 'stopped', reason: 'input_closed' });
      expect(r.stats.mux?.webm_packets_dropped).toBe(0);

      const got = await demux(file);
      expect(got.streams.map((s) => s.codec)).toEqual(['vp9', 'opus']);
      const [vp9, opus] = got.streams as [DemuxedStream, DemuxedStream];
      expect(vp9.ptsMs).toHaveLength(VIDEO_FRAMES);
      expect(opus.ptsMs).toHaveLength(OPUS_PACKETS);
      for (const s of got.streams) expect(s.ptsMs).toEqual([...s.ptsMs].sort((a, b) => a - b));
      const videoEnd = vp9.ptsMs.at(-1)! + vp9.durationsMs.at(-1)!;
      const audioEnd = opus.ptsMs.at(-1)! + opus.durationsMs.at(-1)!;
      expect(Math.abs(videoEnd - DURATION_MS)).toBeLessThanOrEqual(VIDEO_FRAME_MS);
      expect(Math.abs(videoEnd - audioEnd)).toBeLessThanOrEqual(VIDEO_FRAME_MS);
      if (!streaming)
        expect(Math.abs(got.durationMs! - DURATION_MS)).toBeLessThanOrEqual(VIDEO_FRAME_MS);

      const webm = layout(file);
      expect(webm.tracks.map((t) => t.codec)).toEqual(['V_VP9', 'A_OPUS']);
      expectOpusTrack(webm.tracks[1]);
      expectTimeOrder(webm.clusters);
      // A cluster per keyframe (every 30 frames): its first video block is that keyframe, and
      // it opens with the keyframe or, as the WebM guidelines ask, with the audio block whose
      // span reaches the keyframe (at most one Opus frame earlier).
      const keyframesMs = [0, 1000];
      expect(webm.clusters).toHaveLength(keyframesMs.length);
      webm.clusters.forEach((c, i) => {
        expect(c.blocks.find((b) => b.type === 1)).toEqual({
          type: 1,
          ms: keyframesMs[i],
          key: true,
        });
        expect(c.ts).toBeLessThanOrEqual(keyframesMs[i]!);
        expect(c.ts).toBeGreaterThanOrEqual(keyframesMs[i]! - OPUS_FRAME_MS);
        expect(c.blocks.filter((b) => b.type === 1 && b.key)).toHaveLength(1);
      });
      const blocks = webm.clusters.flatMap((c) => c.blocks);
      expect(blocks.filter((b) => b.type === 1)).toHaveLength(VIDEO_FRAMES);
      expect(blocks.filter((b) => b.type === 2)).toHaveLength(OPUS_PACKETS);

      const probe = ffprobe(file);
      if (probe)
        expect(probe.map((s) => [s.codec_name, s.nb_read_packets])).toEqual([
          ['vp9', String(VIDEO_FRAMES)],
          ['opus', String(OPUS_PACKETS)],
        ]);
    });
  }

  it('[C5] a connected video input that closes without data: the file has the audio track alone, and it is valid', async () => {
    const { file, r } = await run(AV_YAML(false, 'silent'), 'no-video');
    expect(r.ok).toBe(true);
    expect(r.states.mux).toEqual({ status: 'stopped', reason: 'input_closed' });
    const got = await demux(file);
    expect(got.streams.map((s) => s.codec)).toEqual(['opus']);
    expect(got.streams[0]!.ptsMs).toHaveLength(OPUS_PACKETS);
    expect(layout(file).tracks.map((t) => t.codec)).toEqual(['A_OPUS']);
    const probe = ffprobe(file);
    if (probe) expect(probe.map((s) => s.codec_name)).toEqual(['opus']);
  });
});
