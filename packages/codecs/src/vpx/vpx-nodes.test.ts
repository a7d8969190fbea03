/**
 * VP9 through the codec nodes with the real codec (node-av's libvpx-vp9 and FFmpeg's vp9
 * decoder): colorbars → encoder → decoder gives frames of the input's size, in order, close to
 * the input (PSNR), and a clean end of stream is stopped{input_closed} for both nodes (C5).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL_CAPACITY, FramePool, defineNode, runOneshot } from '@patchbay/engine';
import { z } from 'zod';
import type { EncodedVideoPacket, VideoPacket } from '@patchbay/engine';
import { createCodecRegistry } from '../register';
import { addCollector, nodeClock, pipeline } from '../testing/helpers';
import { VIDEO_CODEC_MAX_IN_FLIGHT } from './vpx-nodes';

/** PSNR over the R, G and B bytes of two RGBA frames (alpha is not coded). */
function psnrRgb(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = a[i + c]! - b[i + c]!;
      se += d * d;
    }
    n += 3;
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / n));
}

const FRAMES = 20;

describe('video::vp8/vp9 encoders and decoders', () => {
  it.each(['vp9', 'vp8'] as const)(
    '[C5] colorbars → %s encode → decode: frames of the right size, in order, PSNR ≥ 30 dB (VP8: 26); both nodes end stopped{input_closed}',
    async (codec) => {
      const registry = createCodecRegistry();
      const source = addCollector(registry, 'test::collect_source');
      const encoded = addCollector(registry, 'test::collect_encoded');
      const decoded = addCollector(registry, 'test::collect_decoded');
      const r = await runOneshot(
        pipeline(
          [
            ['bars', 'video::colorbars', { width: 640, height: 360, fps: 30, frame_count: FRAMES }],
            [
              'enc',
              `video::${codec}::encoder`,
              {
                width: 640,
                height: 360,
                bitrate: 1_500_000,
                keyframe_interval: 10,
                speed: 8,
                threads: 2,
              },
            ],
            ['dec', `video::${codec}::decoder`],
            ['src_copy', 'test::collect_source'],
            ['enc_copy', 'test::collect_encoded'],
            ['sink', 'test::collect_decoded'],
          ],
          ['bars>enc', 'bars>src_copy', 'enc>dec', 'enc>enc_copy', 'dec>sink'],
        ),
        { registry, clock: nodeClock() },
      );
      expect(r.ok).toBe(true);
      expect(r.states.enc).toEqual({ status: 'stopped', reason: 'input_closed' });
      expect(r.states.dec).toEqual({ status: 'stopped', reason: 'input_closed' });
      expect(r.stats.enc).toMatchObject({ codec_frames_in: FRAMES, codec_frames_out: FRAMES });
      expect(r.stats.enc?.encode_us).toBeGreaterThan(0);

      const packets = encoded as EncodedVideoPacket[];
      expect(packets).toHaveLength(FRAMES);
      expect(packets.every((p) => p.type === 'encoded_video' && p.codec === codec)).toBe(true);
      // The warm-up frame is not part of the stream: it starts on a keyframe at the first pts, and
      // keyframe_interval 10 puts the next ones at frames 10, 20, …
      expect(packets.map((p) => p.keyframe)).toEqual(
        Array.from({ length: FRAMES }, (_, i) => i % 10 === 0),
      );

      const inputs = source as VideoPacket[];
      const outputs = decoded as VideoPacket[];
      expect(outputs).toHaveLength(FRAMES);
      expect(outputs.map((f) => f.ptsUs)).toEqual(inputs.map((f) => f.ptsUs));
      const psnrs = outputs.map((f, i) => {
        expect([f.type, f.width, f.height, f.data.length]).toEqual([
          'video',
          640,
          360,
          640 * 360 * 4,
        ]);
        return psnrRgb(inputs[i]!.data, f.data);
      });
      // Measured here: VP9 31.8–32.2 dB (sharp bar edges through 4:2:0 chroma cost most of it),
      // VP8 27.7 dB at the same bitrate (an older, less efficient codec); a broken path (wrong
      // plane order, range or frame) costs 10 dB or more.
      expect(Math.min(...psnrs)).toBeGreaterThanOrEqual(codec === 'vp9' ? 30 : 26);
    },
  );

  it('a compositor with output_format i420 feeds the encoder directly, as faithfully as swscale converting its RGBA output', async () => {
    const registry = createCodecRegistry();
    const rgba = addCollector(registry, 'test::collect_rgba');
    const viaI420 = addCollector(registry, 'test::collect_i420_path');
    const viaSwscale = addCollector(registry, 'test::collect_swscale_path');
    const size = { width: 320, height: 180 };
    const enc = { ...size, bitrate: 1_500_000 };
    const r = await runOneshot(
      pipeline(
        [
          ['bars', 'video::colorbars', { ...size, fps: 30, frame_count: 8 }],
          ['mix_rgba', 'video::compositor', size],
          ['mix_yuv', 'video::compositor', { ...size, output_format: 'i420' }],
          ['enc_yuv', 'video::vp9::encoder', enc],
          ['enc_rgba', 'video::vp9::encoder', enc],
          ['dec_yuv', 'video::vp9::decoder'],
          ['dec_rgba', 'video::vp9::decoder'],
          ['rgba_copy', 'test::collect_rgba'],
          ['out_yuv', 'test::collect_i420_path'],
          ['out_rgba', 'test::collect_swscale_path'],
        ],
        [
          'bars>mix_rgba.in_0',
          'bars>mix_yuv.in_0',
          'mix_rgba>rgba_copy',
          'mix_rgba>enc_rgba',
          'mix_yuv>enc_yuv',
          'enc_yuv>dec_yuv',
          'enc_rgba>dec_rgba',
          'dec_yuv>out_yuv',
          'dec_rgba>out_rgba',
        ],
      ),
      { registry, clock: nodeClock() },
    );
    expect(r.ok).toBe(true);
    expect(r.stats.enc_yuv).toMatchObject({ codec_frames_in: 8, codec_frames_out: 8 });
    // No conversion in that encoder node: its frames arrived as I420.
    expect(r.stats.enc_yuv?.convert_us).toBe(0);
    expect(r.stats.enc_rgba?.convert_us).toBeGreaterThan(0);
    const reference = rgba as VideoPacket[];
    const psnr = (frames: unknown[]) =>
      Math.min(...(frames as VideoPacket[]).map((f, i) => psnrRgb(reference[i]!.data, f.data)));
    expect(viaI420).toHaveLength(8);
    // A wrong matrix, range or plane order would cost 10 dB or more; measured here the two paths
    // are within 0.1 dB.
    expect(psnr(viaI420)).toBeGreaterThanOrEqual(psnr(viaSwscale) - 0.5);
  });

  it('an input frame of another size fails the encoder with a reason (output truncated)', async () => {
    const registry = createCodecRegistry();
    addCollector(registry);
    const r = await runOneshot(
      pipeline(
        [
          ['bars', 'video::colorbars', { width: 320, height: 180, frame_count: 3 }],
          ['enc', 'video::vp9::encoder', { width: 640, height: 360 }],
          ['sink', 'test::collect'],
        ],
        ['bars>enc', 'enc>sink'],
      ),
      { registry, clock: nodeClock() },
    );
    expect(r.ok).toBe(false);
    expect(r.states.enc).toMatchObject({ status: 'failed' });
    const reason = (r.states.enc as { reason: string }).reason;
    expect(reason).toContain('320×180');
    expect(reason).toContain('output truncated');
  });

  it('hands each pooled input frame back once libvpx copied it, and the pixels it encoded were the frame sent', async () => {
    const registry = createCodecRegistry();
    const decoded = addCollector(registry);
    const pool = new FramePool();
    const W = 320;
    const H = 180;
    const N = 30;
    // Flat grey I420 frames whose level steps by 6 per frame, each coded as a keyframe (no
    // inter-frame rate control smearing levels): a buffer reused before libvpx had copied it
    // would carry a later frame's level into an earlier one.
    const level = (i: number) => 40 + 6 * i;
    registry.register(
      defineNode({
        kind: 'test::pooled_grey',
        description: 'flat grey I420 frames from a frame pool',
        params: z.object({}),
        pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'raw_video' }] }),
        create: () => ({
          async run(ctx) {
            for (let i = 0; i < N; i++) {
              const lease = pool.acquire((W * H * 3) / 2);
              lease.data.fill(level(i), 0, W * H).fill(128, W * H);
              await ctx.send('out', {
                type: 'video',
                format: 'i420',
                width: W,
                height: H,
                data: lease.data,
                ptsUs: i * 33_333,
                lease,
              });
              lease.release();
            }
            return 'completed';
          },
        }),
      }),
    );
    const r = await runOneshot(
      pipeline(
        [
          ['grey', 'test::pooled_grey'],
          [
            'enc',
            'video::vp9::encoder',
            { width: W, height: H, bitrate: 2_000_000, keyframe_interval: 1, threads: 1 },
          ],
          ['dec', 'video::vp9::decoder'],
          ['sink', 'test::collect'],
        ],
        ['grey>enc', 'enc>dec', 'dec>sink'],
      ),
      { registry, clock: nodeClock() },
    );
    expect(r.ok).toBe(true);
    const frames = decoded as VideoPacket[];
    expect(frames).toHaveLength(N);
    // New buffers only while the unpaced source fills its link and the encoder's queue; after
    // that every frame reuses one the encoder gave back.
    expect(pool.counts.allocated).toBeLessThanOrEqual(
      DEFAULT_CHANNEL_CAPACITY + VIDEO_CODEC_MAX_IN_FLIGHT + 2,
    );
    expect(pool.counts.reused).toBe(N - pool.counts.allocated);
    expect(pool.counts.reused).toBeGreaterThan(0);
    frames.forEach((f, i) => {
      // The decoded grey of frame i is within a few levels of its own Y value (BT.601 limited
      // range: RGB = 1.164 · (Y − 16)), far from its neighbours' (6 apart in Y, 7 in RGB).
      const expected = 1.164 * (level(i) - 16);
      expect(Math.abs(f.data[0]! - expected), `frame ${i}`).toBeLessThan(3.5);
    });
  });

  it('a decoder refuses packets of the other codec, naming both', async () => {
    const registry = createCodecRegistry();
    addCollector(registry);
    const r = await runOneshot(
      pipeline(
        [
          ['bars', 'video::colorbars', { width: 320, height: 180, frame_count: 3 }],
          ['enc', 'video::vp9::encoder', { width: 320, height: 180 }],
          ['dec', 'video::vp8::decoder'],
          ['sink', 'test::collect'],
        ],
        ['bars>enc', 'enc>dec', 'dec>sink'],
      ),
      { registry, clock: nodeClock() },
    );
    expect(r.ok).toBe(false);
    expect(r.states.dec).toMatchObject({ status: 'failed' });
    const reason = (r.states.dec as { reason: string }).reason;
    expect(reason).toContain('input is vp9; the decoder takes vp8');
  });
});
