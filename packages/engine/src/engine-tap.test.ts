import { describe, expect, it } from 'vitest';
import { createDefaultRegistry } from './builtins';
import { Engine } from './engine';
import type { Packet } from './packets';
import { ManualClock } from './testing/manual-clock';

describe('Engine.tap (output probes for previews)', () => {
  it('sees every packet a node sends on the pin, connected or not, until disposed', async () => {
    const clock = new ManualClock();
    const engine = new Engine({ registry: createDefaultRegistry(), clock, pacing: 'realtime' });
    const seen: Packet[] = [];
    // Registered before the node exists: taps follow the id.
    const off = engine.tap('bars', 'out', (p) => seen.push(p));
    expect(
      (await engine.addNode('bars', 'video::colorbars', { width: 32, height: 16, fps: 10 })).ok,
    ).toBe(true);
    await clock.advance(1_000);
    const during = seen.length;
    expect(during).toBeGreaterThanOrEqual(9);
    expect(seen.every((p) => p.type === 'video' && p.width === 32)).toBe(true);
    off();
    await clock.advance(1_000);
    expect(seen.length).toBe(during);
    await engine.shutdown();
  });

  it('a throwing tap is logged and does not stop the node', async () => {
    const clock = new ManualClock();
    const engine = new Engine({ registry: createDefaultRegistry(), clock, pacing: 'realtime' });
    let calls = 0;
    engine.tap('bars', 'out', () => {
      calls++;
      throw new Error('preview failed');
    });
    await engine.addNode('bars', 'video::colorbars', { width: 32, height: 16, fps: 10 });
    await clock.advance(1_000);
    expect(calls).toBeGreaterThanOrEqual(9);
    expect(engine.snapshot().nodes.find((n) => n.id === 'bars')?.state.status).toBe('running');
    await engine.shutdown();
  });
});
