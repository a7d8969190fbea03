import { describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../../builtins';
import { Engine } from '../../engine';
import { runOneshot } from '../../oneshot';
import type { VideoPacket } from '../../packets';
import { ManualClock, settle } from '../../testing/manual-clock';
import { addCollector, pipelineOf } from '../../testing/pipelines';
import { COLORBARS_CACHE_BYTES, colorbarsPeriod } from './colorbars';

async function bars(params: Record<string, unknown>): Promise<VideoPacket[]> {
  const registry = createDefaultRegistry();
  const got = addCollector(registry);
  const r = await runOneshot(
    pipelineOf(
      [
        ['v', 'video::colorbars', params],
        ['c', 'test::collect'],
      ],
      ['v>c'],
    ),
    { registry, clock: new ManualClock() },
  );
  expect(r.ok).toBe(true);
  return got.filter((p): p is VideoPacket => p.type === 'video');
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('video::colorbars', () => {
  it('the sweep repeats every 60 frames at the usual sizes', () => {
    expect(colorbarsPeriod(1280)).toBe(60);
    expect(colorbarsPeriod(640)).toBe(60);
    expect(colorbarsPeriod(64)).toBe(60);
    // 720p's whole cycle fits the cache budget (the pipeline benchmark relies on it).
    expect(60 * 1280 * 720 * 4).toBeLessThanOrEqual(COLORBARS_CACHE_BYTES);
  });

  it('frames one cycle apart share one buffer with the same pixels as a freshly drawn frame; frames within a cycle are distinct', async () => {
    const period = colorbarsPeriod(64);
    const frames = await bars({ width: 64, height: 32, fps: 25, frame_count: 2 * period + 3 });
    // A run no longer than one cycle never repeats a frame, so it draws each one afresh.
    const fresh = await bars({ width: 64, height: 32, fps: 25, frame_count: period });
    expect(frames).toHaveLength(2 * period + 3);
    expect(frames.map((f) => f.ptsUs)).toEqual(frames.map((_, i) => i * 40_000));
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      expect(same(f.data, fresh[i % period]!.data), `frame ${i}`).toBe(true);
      if (i >= period) expect(f.data).toBe(frames[i - period]!.data);
    }
    const cycle = frames.slice(0, period);
    expect(new Set(cycle.map((f) => f.data)).size).toBe(period);
    for (let i = 1; i < period; i++)
      expect(same(cycle[i]!.data, cycle[i - 1]!.data), `frames ${i - 1} and ${i}`).toBe(false);
    expect(new Set(fresh.map((f) => f.data)).size).toBe(period);
  });

  it('a live session draws every frame afresh: no cycle is held in memory', async () => {
    const registry = createDefaultRegistry();
    const got = addCollector(registry);
    const clock = new ManualClock();
    const engine = new Engine({ registry, clock });
    const period = colorbarsPeriod(64);
    await engine.applyBatch([
      {
        op: 'add_node',
        id: 'v',
        kind: 'video::colorbars',
        params: { width: 64, height: 32, fps: 25, frame_count: period + 2 },
      },
      { op: 'add_node', id: 'c', kind: 'test::collect' },
      { op: 'connect', from: { node: 'v' }, to: { node: 'c' } },
    ]);
    await settle();
    await clock.advance(((period + 2) * 1000) / 25);
    const frames = got.filter((p): p is VideoPacket => p.type === 'video');
    expect(frames).toHaveLength(period + 2);
    expect(frames[period]!.data).not.toBe(frames[0]!.data);
    expect(same(frames[period]!.data, frames[0]!.data)).toBe(true);
    await engine.shutdown();
  });
});
