import { describe, expect, it } from 'vitest';
import { createDefaultRegistry } from '../builtins';
import { Engine } from '../engine';
import type { EngineEvent } from '../engine';
import { runOneshot } from '../oneshot';
import type { AudioPacket, Packet, VideoPacket } from '../packets';
import { ManualClock, settle } from '../testing/manual-clock';
import { addCollector, pipelineOf } from '../testing/pipelines';

/** A registry with a collector node that records every packet it gets. */
function collecting() {
  const registry = createDefaultRegistry();
  const got = addCollector(registry);
  return { registry, got };
}

const pipeline = pipelineOf;

const clock = new ManualClock();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
const audio = (ps: Packet[]) => ps.filter((p): p is AudioPacket => p.type === 'audio');

describe('audio nodes', () => {
  it('audio::sine makes 20 ms frames at the right frequency and ends after duration_ms', async () => {
    const { registry, got } = collecting();
    const r = await runOneshot(
      pipeline(
        [
          ['s', 'audio::sine', { frequency_hz: 1000, duration_ms: 1010, sample_rate: 48_000 }],
          ['c', 'test::collect'],
        ],
        ['s>c'],
      ),
      { registry, clock },
    );
    expect(r.ok).toBe(true);
    const frames = audio(got);
    expect(frames).toHaveLength(51);
    expect(frames.slice(0, 50).every((f) => f.samples.length === 960)).toBe(true);
    expect(frames[50]!.samples.length).toBe(480);
    expect(frames.map((f) => f.ptsUs).slice(0, 3)).toEqual([0, 20_000, 40_000]);
    const all = Float32Array.from(frames.flatMap((f) => [...f.samples]));
    let crossings = 0;
    for (let i = 1; i < 48_000; i++) if (all[i - 1]! < 0 && all[i]! >= 0) crossings++;
    expect(crossings).toBeGreaterThanOrEqual(999);
    expect(crossings).toBeLessThanOrEqual(1001);
    expect(Math.max(...all)).toBeCloseTo(0.5, 3);
  });

  it('audio::gain scales samples and takes a live tune', async () => {
    const { registry, got } = collecting();
    const r = await runOneshot(
      pipeline(
        [
          ['s', 'audio::sine', { duration_ms: 100, amplitude: 0.5 }],
          ['g', 'audio::gain', { gain: 0.5 }],
          ['c', 'test::collect'],
        ],
        ['s>g', 'g>c'],
      ),
      { registry, clock },
    );
    expect(r.ok).toBe(true);
    const peak = Math.max(...audio(got).flatMap((f) => [...f.samples]));
    expect(peak).toBeCloseTo(0.25, 3);
  });

  it('audio::mixer sums aligned inputs made on connect and carries on when one input ends', async () => {
    const { registry, got } = collecting();
    const p = pipeline(
      [
        ['a', 'audio::sine', { duration_ms: 200, amplitude: 0.25, frequency_hz: 500 }],
        ['b', 'audio::sine', { duration_ms: 100, amplitude: 0.25, frequency_hz: 500 }],
        ['m', 'audio::mixer', { num_inputs: 2 }],
        ['c', 'test::collect'],
      ],
      ['a>m.in_0', 'b>m.in_1', 'm>c'],
    );
    const r = await runOneshot(p, { registry, clock });
    expect(r.ok).toBe(true);
    const frames = audio(got);
    expect(frames).toHaveLength(10);
    // Both sines in phase: the first 100 ms peak at 0.5, the rest at 0.25.
    const peak = (f: AudioPacket) => Math.max(...f.samples);
    expect(peak(frames[0]!)).toBeCloseTo(0.5, 3);
    expect(peak(frames[9]!)).toBeCloseTo(0.25, 3);
  });

  it('audio::mixer fails with a clear reason on mismatched sample rates', async () => {
    const { registry } = collecting();
    const p = pipeline(
      [
        ['a', 'audio::sine', { duration_ms: 100, sample_rate: 48_000 }],
        ['b', 'audio::sine', { duration_ms: 100, sample_rate: 16_000 }],
        ['m', 'audio::mixer'],
        ['c', 'test::collect'],
      ],
      ['a>m.in_0', 'b>m.in_1', 'm>c'],
    );
    const r = await runOneshot(p, { registry, clock });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.failed[0]?.node).toBe('m');
  });

  it('audio::silence is all zeros', async () => {
    const { registry, got } = collecting();
    await runOneshot(
      pipeline(
        [
          ['s', 'audio::silence', { duration_ms: 60 }],
          ['c', 'test::collect'],
        ],
        ['s>c'],
      ),
      { registry, clock },
    );
    expect(audio(got)).toHaveLength(3);
    expect(audio(got).every((f) => f.samples.every((v) => v === 0))).toBe(true);
  });
});

describe('core and video nodes', () => {
  it('core::passthrough forwards and core::sink counts packets and bytes', async () => {
    const registry = createDefaultRegistry();
    const engine = new Engine({ registry, clock, mode: 'oneshot' });
    const events: EngineEvent[] = [];
    engine.subscribe((e) => events.push(e));
    await engine.applyBatch([
      { op: 'add_node', id: 's', kind: 'audio::sine', params: { duration_ms: 100 } },
      { op: 'add_node', id: 'p', kind: 'core::passthrough' },
      { op: 'add_node', id: 'k', kind: 'core::sink' },
      { op: 'connect', from: { node: 's' }, to: { node: 'p' } },
      { op: 'connect', from: { node: 'p' }, to: { node: 'k' } },
    ]);
    await settle(400);
    await clock.advance(1000);
    const sink = engine.snapshot().nodes.find((n) => n.id === 'k')!;
    expect(sink.state).toEqual({ status: 'stopped', reason: 'input_closed' });
    expect(sink.stats.packets).toBe(5);
    expect(sink.stats.bytes).toBe(5 * 960 * 4);
  });

  it('video::colorbars makes frame_count RGBA frames that move', async () => {
    const { registry, got } = collecting();
    const r = await runOneshot(
      pipeline(
        [
          ['v', 'video::colorbars', { width: 64, height: 32, fps: 25, frame_count: 5 }],
          ['c', 'test::collect'],
        ],
        ['v>c'],
      ),
      { registry, clock },
    );
    expect(r.ok).toBe(true);
    const frames = got.filter((p): p is VideoPacket => p.type === 'video');
    expect(frames).toHaveLength(5);
    expect(
      frames.every((f) => f.width === 64 && f.height === 32 && f.data.length === 64 * 32 * 4),
    ).toBe(true);
    expect(frames.map((f) => f.ptsUs)).toEqual([0, 40_000, 80_000, 120_000, 160_000]);
    expect(sameBytes(frames[0]!.data, frames[4]!.data)).toBe(false);
    // Top-left pixel is the first bar: 75 % white, opaque.
    expect([...frames[0]!.data.slice(0, 4)]).toEqual([191, 191, 191, 255]);
  });

  it('video::compositor makes one frame per primary frame with rising timestamps, also when the primary ends first', async () => {
    const { registry, got } = collecting();
    const r = await runOneshot(
      pipeline(
        [
          ['bg', 'video::colorbars', { width: 64, height: 36, fps: 25, frame_count: 10 }],
          ['pip', 'video::colorbars', { width: 32, height: 18, fps: 25, frame_count: 12 }],
          ['mix', 'video::compositor', { width: 64, height: 36 }],
          ['c', 'test::collect'],
        ],
        ['bg>mix.in_0', 'pip>mix.in_1', 'mix>c'],
      ),
      { registry, clock },
    );
    expect(r.ok).toBe(true);
    const pts = got.filter((p): p is VideoPacket => p.type === 'video').map((f) => f.ptsUs);
    // 10 frames while bg lives, then pip's 2 later frames take over: strictly rising times.
    expect(pts).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => i * 40_000));
  });

  it('a paced source follows the clock in a dynamic session', async () => {
    const c = new ManualClock();
    const registry = createDefaultRegistry();
    const engine = new Engine({ registry, clock: c });
    await engine.applyBatch([
      { op: 'add_node', id: 's', kind: 'audio::sine', params: {} },
      { op: 'add_node', id: 'k', kind: 'core::sink' },
      { op: 'connect', from: { node: 's' }, to: { node: 'k' } },
    ]);
    await settle(50);
    await c.advance(1000);
    const packets = engine.snapshot().nodes.find((n) => n.id === 'k')!.stats.packets ?? 0;
    // 1 s of 20 ms frames: 50 (+1 for the frame at t=0).
    expect(packets).toBeGreaterThanOrEqual(50);
    expect(packets).toBeLessThanOrEqual(51);
    await engine.shutdown();
  });
});

describe('oneshot runs and io nodes', () => {
  it('io::input → io::output copies bytes; a StreamKit alias loads', async () => {
    const out: Uint8Array[] = [];
    const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251);
    const p = pipeline(
      [
        ['in', 'streamkit::http_input', { name: 'media' }],
        ['pass', 'core::passthrough'],
        ['out', 'io::output'],
      ],
      ['in>pass', 'pass>out'],
    );
    const r = await runOneshot(p, {
      registry: createDefaultRegistry(),
      clock,
      io: {
        input: (name) =>
          name === 'media'
            ? (async function* () {
                for (let i = 0; i < bytes.length; i += 16_384) yield bytes.slice(i, i + 16_384);
              })()
            : undefined,
        write: (chunk) => void out.push(chunk),
      },
    });
    expect(r.ok).toBe(true);
    expect(sameBytes(concat(out), bytes)).toBe(true);
  });

  it("a oneshot run resolves every node's final state; a failed node makes it an error naming the node", async () => {
    const p = pipeline(
      [
        ['in', 'io::input', { name: 'missing' }],
        ['out', 'io::output'],
      ],
      ['in>out'],
    );
    const r = await runOneshot(p, {
      registry: createDefaultRegistry(),
      clock,
      io: { input: () => undefined, write: () => {} },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failed).toEqual([
      { node: 'in', reason: 'creation failed: no input bound to name "missing"' },
    ]);
    expect(r.problems[0]).toMatchObject({ code: 'run_failed', node: 'in' });
  });

  it('a oneshot processor that nothing feeds stops with no_inputs', async () => {
    const r = await runOneshot(
      pipeline(
        [
          ['s', 'audio::sine', { duration_ms: 40 }],
          ['k', 'core::sink'],
          ['lonely', 'audio::gain'],
        ],
        ['s>k'],
      ),
      { registry: createDefaultRegistry(), clock },
    );
    expect(r.ok).toBe(true);
    expect(r.states.lonely).toEqual({ status: 'stopped', reason: 'no_inputs' });
    expect(r.states.s).toEqual({ status: 'stopped', reason: 'completed' });
  });

  it('a dynamic session refuses the oneshot-only kinds', async () => {
    const engine = new Engine({ registry: createDefaultRegistry(), clock });
    const r = await engine.addNode('o', 'io::output');
    expect(r.ok ? undefined : r.error.code).toBe('oneshot_only');
  });

  it('the registry lists every kind with pins, a JSON Schema and a description', () => {
    const list = createDefaultRegistry().list();
    expect(list.map((k) => k.kind)).toEqual(
      expect.arrayContaining([
        'audio::sine',
        'audio::silence',
        'audio::gain',
        'audio::mixer',
        'core::passthrough',
        'core::sink',
        'video::colorbars',
        'io::input',
        'io::output',
      ]),
    );
    for (const k of list) {
      expect(k.description.length, k.kind).toBeGreaterThan(5);
      expect((k.paramsSchema as { type?: string }).type, k.kind).toBe('object');
    }
    const sine = list.find((k) => k.kind === 'audio::sine')!;
    expect(Object.keys((sine.paramsSchema as { properties: object }).properties)).toEqual(
      expect.arrayContaining(['frequency_hz', 'duration_ms', 'sample_rate', 'channels']),
    );
    expect(list.find((k) => k.kind === 'audio::mixer')!.inputs).toEqual([
      { name: 'in_', type: 'raw_audio', family: true },
    ]);
  });
});
