import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDefaultRegistry } from '../../builtins';
import { Engine } from '../../engine';
import { releasePacket } from '../../frame-pool';
import { defineNode } from '../../node-api';
import { runOneshot } from '../../oneshot';
import type { Packet, VideoPacket } from '../../packets';
import type { NodeRegistry } from '../../registry';
import { ManualClock, settle } from '../../testing/manual-clock';
import { addCollector, pipelineOf } from '../../testing/pipelines';

const W = 64;
const H = 32;
const BLOCK = 4; // max(4, 64 / 16)
const BAND = Math.floor(H * 0.8);

/** The pixel at (x, y) of a frame as RGBA. */
function px(f: VideoPacket, x: number, y: number): number[] {
  const i = (y * f.width + x) * 4;
  return [...f.data.subarray(i, i + 4)];
}

/** Frame i's sweeping block starts at this x. */
function blockX(i: number): number {
  return Math.floor((i * BLOCK) / 4) % (W - BLOCK);
}

/** Checks a frame is colorbars frame i: the bars above the band, the block where it belongs. */
function expectFrame(f: VideoPacket, i: number): void {
  expect(px(f, 0, 0), `frame ${i} bars`).toEqual([191, 191, 191, 255]);
  expect(px(f, W - 1, 0), `frame ${i} bars`).toEqual([0, 0, 191, 255]);
  const x = blockX(i);
  for (let dx = 0; dx < BLOCK; dx++)
    expect(px(f, x + dx, H - 1), `frame ${i} block`).toEqual([255, 255, 255, 255]);
  const outside = x >= 1 ? x - 1 : x + BLOCK;
  expect(px(f, outside, H - 1), `frame ${i} band`).toEqual([32, 32, 32, 255]);
}

/** A consumer that copies every frame and then releases it, as the compositor and encoders do. */
function addReleasingCollector(registry: NodeRegistry): {
  copies: Uint8Array[];
  buffers: Set<ArrayBufferLike>;
} {
  const copies: Uint8Array[] = [];
  const buffers = new Set<ArrayBufferLike>();
  registry.register(
    defineNode({
      kind: 'test::copy_release',
      description: 'copies each frame, then releases it',
      params: z.object({}),
      pins: () => ({ inputs: [{ name: 'in', type: 'any' }], outputs: [] }),
      create: () => ({
        async run(ctx) {
          for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
            if (ev.type !== 'packet' || ev.packet.type !== 'video') continue;
            copies.push(ev.packet.data.slice());
            buffers.add(ev.packet.data.buffer);
            releasePacket(ev.packet);
          }
          return 'input_closed';
        },
      }),
    }),
  );
  return { copies, buffers };
}

const video = (got: Packet[]): VideoPacket[] =>
  got.filter((p): p is VideoPacket => p.type === 'video');

describe('video::colorbars', () => {
  it('draws the bars and the block sweeping along the bottom band, one timestamp per frame', async () => {
    const registry = createDefaultRegistry();
    const got = addCollector(registry);
    const n = 40;
    const r = await runOneshot(
      pipelineOf(
        [
          ['v', 'video::colorbars', { width: W, height: H, fps: 25, frame_count: n }],
          ['c', 'test::collect'],
        ],
        ['v>c'],
      ),
      { registry, clock: new ManualClock() },
    );
    expect(r.ok).toBe(true);
    const frames = video(got);
    expect(frames.map((f) => f.ptsUs)).toEqual(frames.map((_, i) => i * 40_000));
    frames.forEach(expectFrame);
    // The collector never releases: every frame it holds keeps its own buffer.
    expect(new Set(frames.map((f) => f.data.buffer)).size).toBe(n);
    expect(BAND).toBeLessThan(H - 1);
  });

  it('reuses a few buffers when its consumer releases them, and every copy is still the right frame', async () => {
    const registry = createDefaultRegistry();
    const { copies, buffers } = addReleasingCollector(registry);
    const n = 120;
    const r = await runOneshot(
      pipelineOf(
        [
          ['v', 'video::colorbars', { width: W, height: H, fps: 25, frame_count: n }],
          ['c', 'test::copy_release'],
        ],
        ['v>c'],
      ),
      { registry, clock: new ManualClock() },
    );
    expect(r.ok).toBe(true);
    expect(copies).toHaveLength(n);
    copies.forEach((data, i) =>
      expectFrame({ type: 'video', width: W, height: H, data, ptsUs: 0 }, i),
    );
    // At most a link's worth of frames is in flight at once; the pool serves the rest.
    expect(buffers.size).toBeLessThanOrEqual(20);
  });

  it('fan-out to a releasing and a keeping consumer: the kept frames are never overwritten', async () => {
    const registry = createDefaultRegistry();
    const kept = addCollector(registry);
    const { copies, buffers } = addReleasingCollector(registry);
    const n = 80;
    const r = await runOneshot(
      pipelineOf(
        [
          ['v', 'video::colorbars', { width: W, height: H, fps: 25, frame_count: n }],
          ['c', 'test::collect'],
          ['r', 'test::copy_release'],
        ],
        ['v>c', 'v>r'],
      ),
      { registry, clock: new ManualClock() },
    );
    expect(r.ok).toBe(true);
    expect(copies).toHaveLength(n);
    video(kept).forEach(expectFrame);
    expect(buffers.size).toBe(n);
  });

  it('an output tap keeps its frames: a live session tapped and released downstream never rewrites them', async () => {
    const registry = createDefaultRegistry();
    addReleasingCollector(registry);
    const clock = new ManualClock();
    const engine = new Engine({ registry, clock });
    const tapped: VideoPacket[] = [];
    const n = 30;
    await engine.applyBatch([
      {
        op: 'add_node',
        id: 'v',
        kind: 'video::colorbars',
        params: { width: W, height: H, fps: 25, frame_count: n },
      },
      { op: 'add_node', id: 'c', kind: 'test::copy_release' },
      { op: 'connect', from: { node: 'v' }, to: { node: 'c' } },
    ]);
    const off = engine.tap('v', 'out', (p) => {
      if (p.type === 'video') tapped.push(p);
    });
    await settle();
    await clock.advance((n * 1000) / 25);
    off();
    expect(tapped.length).toBeGreaterThan(n - 3);
    tapped.forEach((f) => expectFrame(f, Math.round(f.ptsUs / 40_000)));
    await engine.shutdown();
  });
});
