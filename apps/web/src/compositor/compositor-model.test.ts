import { describe, expect, it } from 'vitest';
import { CommitThrottle } from './commit-throttle';
import type { Scheduler } from './commit-throttle';
import { layerBoxes, layerWrites, moveRect, parseView, resizeRect } from './compositor-model';

const view = parseView({
  width: 1280,
  height: 720,
  fps: 30,
  layers: [
    {
      pin: 'in_1',
      z_index: 1,
      auto: false,
      rect: { x: 840, y: 460, width: 400, height: 225 },
      opacity: 0.9,
      rotation_degrees: 0,
    },
    {
      pin: 'in_0',
      z_index: 0,
      auto: true,
      rect: { x: 0, y: 0, width: 1280, height: 720 },
      opacity: 1,
      rotation_degrees: 0,
    },
  ],
});

describe('compositor layer boxes', () => {
  it('reads the resolved layout from view data, in z order', () => {
    const boxes = layerBoxes({}, view);
    expect(boxes.map((b) => b.pin)).toEqual(['in_0', 'in_1']);
    expect(boxes[1]?.rect).toEqual({ x: 840, y: 460, width: 400, height: 225 });
  });

  it('draws a layer known only from params until view data arrives', () => {
    const boxes = layerBoxes(
      { layers: { in_3: { rect: { x: 1, y: 2, width: 3, height: 4 }, opacity: 0.5 } } },
      undefined,
    );
    expect(boxes).toEqual([
      expect.objectContaining({
        pin: 'in_3',
        rect: { x: 1, y: 2, width: 3, height: 4 },
        opacity: 0.5,
      }),
    ]);
  });

  it('[S7] the layer being dragged follows the gesture, not incoming view data', () => {
    const held = { pin: 'in_1', layer: { rect: { x: 10, y: 20, width: 400, height: 225 } } };
    const boxes = layerBoxes({}, view, held);
    const dragged = boxes.find((b) => b.pin === 'in_1');
    expect(dragged).toMatchObject({ held: true, rect: { x: 10, y: 20 }, opacity: 0.9 });
    // Other layers still follow the view data.
    expect(boxes.find((b) => b.pin === 'in_0')).toMatchObject({ held: false, auto: true });
  });

  it("[S6] while view data lags behind this tab's own edit, its layers are drawn from params", () => {
    const params = { layers: { in_1: { rect: { x: 5, y: 5, width: 100, height: 50 } } } };
    expect(layerBoxes(params, view, undefined, true).find((b) => b.pin === 'in_1')?.rect).toEqual({
      x: 5,
      y: 5,
      width: 100,
      height: 50,
    });
    // Caught up: the server's resolved geometry wins again.
    expect(layerBoxes(params, view, undefined, false).find((b) => b.pin === 'in_1')?.rect.x).toBe(
      840,
    );
  });

  it('ignores view data that is not a layout', () => {
    expect(parseView('nope')).toBeUndefined();
    expect(parseView({ layers: [{ pin: 3 }, { pin: 'a', rect: {} }] })?.layers).toEqual([]);
  });
});

describe('layer geometry', () => {
  const r = { x: 100, y: 100, width: 200, height: 100 };
  it('moves by whole pixels', () => {
    expect(moveRect(r, 10.4, -5.6)).toEqual({ x: 110, y: 94, width: 200, height: 100 });
  });

  it('resizes from each corner keeping the opposite corner fixed', () => {
    expect(resizeRect(r, 'se', 20, 10)).toEqual({ x: 100, y: 100, width: 220, height: 110 });
    expect(resizeRect(r, 'nw', 20, 10)).toEqual({ x: 120, y: 110, width: 180, height: 90 });
    expect(resizeRect(r, 'ne', 20, 10)).toEqual({ x: 100, y: 110, width: 220, height: 90 });
    expect(resizeRect(r, 'sw', -20, 10)).toEqual({ x: 80, y: 100, width: 220, height: 110 });
  });

  it('never shrinks below the minimum side', () => {
    const small = resizeRect(r, 'nw', 1000, 1000);
    expect(small.width).toBe(8);
    expect(small.x + small.width).toBe(300);
  });

  it('writes each layer field under layers.<pin>', () => {
    expect(layerWrites('in_1', { opacity: 0.5, rect: r })).toEqual([
      [['layers', 'in_1', 'opacity'], 0.5],
      [['layers', 'in_1', 'rect'], r],
    ]);
  });
});

class ManualScheduler implements Scheduler {
  t = 0;
  tasks: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now(): number {
    return this.t;
  }
  later(fn: () => void, ms: number): () => void {
    const task = { at: this.t + ms, fn, live: true };
    this.tasks.push(task);
    return () => {
      task.live = false;
    };
  }
  advance(ms: number): void {
    this.t += ms;
    for (const task of this.tasks.filter((x) => x.live && x.at <= this.t)) {
      task.live = false;
      task.fn();
    }
  }
}

describe('[S8] drag commits are throttled and the final value is always committed', () => {
  it('commits at most once per interval with the latest value, and the last value at the end', () => {
    const clock = new ManualScheduler();
    const commits: number[] = [];
    const t = new CommitThrottle<number>((v) => commits.push(v), clock, 100);
    t.push(1); // first move commits at once
    for (let i = 2; i <= 20; i++) {
      clock.advance(10);
      t.push(i);
    }
    // 190 ms of moves: the first at 0, then at 100 ms the latest value pushed by then (10).
    expect(commits).toEqual([1, 10]);
    t.end();
    expect(commits).toEqual([1, 10, 20]);
    clock.advance(1000);
    expect(commits).toEqual([1, 10, 20]);
  });

  it('end with nothing pending commits nothing; cancel drops the pending value', () => {
    const clock = new ManualScheduler();
    const commits: number[] = [];
    const t = new CommitThrottle<number>((v) => commits.push(v), clock, 100);
    t.end();
    expect(commits).toEqual([]);
    t.push(1);
    t.push(2);
    t.cancel();
    clock.advance(500);
    expect(commits).toEqual([1]);
  });
});
