/**
 * C1–C5 through the real engine: codec nodes made with defineCodecNode around the test codec,
 * in real worker threads and child processes, on a real clock. Watchdog tests use a short
 * configured timeout and assert outcomes, never durations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Engine, createDefaultRegistry, defineNode, runOneshot } from '@patchbay/engine';
import type { AudioPacket, EngineEvent, NodeRegistry, Packet } from '@patchbay/engine';
import type { NodeState } from '@patchbay/protocol';
import { z } from 'zod';
import type { CodecHost, CodecHostKind } from './codec-host';
import { defineCodecNode, isCodecNode } from './codec-node';
import type { CodecNodeOptions } from './codec-node';
import { CodecError } from './errors';
import { InlineCodecHost } from './inline-codec-host';
import { ProcessCodecHost } from './process-codec-host';
import type { CodecRunEnd } from './run-codec';
import {
  TEST_CODEC,
  addCollector,
  nodeClock,
  pipeline,
  processAlive,
  until,
} from './testing/helpers';
import { WorkerCodecHost } from './worker-codec-host';

const clock = nodeClock();

interface Harness {
  registry: NodeRegistry;
  got: Packet[];
  hosts: CodecHost[];
  /** Each host's progress counter the moment its codec was ready (before any input). */
  readyProgress: Map<CodecHost, number>;
  ends: Array<{ node: string; end: CodecRunEnd }>;
}

/**
 * A registry with the built-ins, `test::collect`, `test::trickle`, `test::slow_sink`, and one
 * codec kind `test::codec` that runs the test codec in `host` with `init`.
 */
function harness(
  host: CodecHostKind,
  init: Record<string, unknown>,
  options: CodecNodeOptions = {},
): Harness {
  const registry = createDefaultRegistry();
  const got = addCollector(registry);
  const hosts: CodecHost[] = [];
  const readyProgress = new Map<CodecHost, number>();
  const ends: Harness['ends'] = [];
  registry.register(
    defineCodecNode(
      {
        kind: 'test::codec',
        description: 'the test codec as a node',
        params: z.object({}),
        pins: () => ({
          inputs: [{ name: 'in', type: 'raw_audio' }],
          outputs: [{ name: 'out', type: 'raw_audio' }],
        }),
        codec: () => ({ host, spec: TEST_CODEC, init }),
        adapter: () => ({
          input(packet) {
            if (packet.type !== 'audio' || packet.sampleRate !== 48_000) {
              throw new CodecError('bad_input', `the test codec takes 48 kHz audio only`);
            }
            return [{ frame: { data: packet.samples, ptsUs: packet.ptsUs } }];
          },
          output: (frame): AudioPacket => ({
            type: 'audio',
            sampleRate: 48_000,
            channels: 1,
            samples: frame.data as Float32Array,
            ptsUs: frame.ptsUs ?? 0,
          }),
        }),
      },
      {
        ...options,
        createHost: (kind) => {
          const h =
            kind === 'worker'
              ? new WorkerCodecHost()
              : kind === 'process'
                ? new ProcessCodecHost()
                : new InlineCodecHost();
          hosts.push(h);
          const start = h.start.bind(h);
          h.start = async (spec, init) => {
            const r = await start(spec, init);
            readyProgress.set(h, h.progress);
            return r;
          };
          return h;
        },
        onRunEnd: (node, _kind, end) => ends.push({ node, end }),
      },
    ),
  );
  registry.register(
    defineNode({
      kind: 'test::trickle',
      description: 'four audio frames, a pause between each',
      params: z.object({ gap_ms: z.number().default(0) }),
      pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'raw_audio' }] }),
      create: ({ params }) => ({
        async run(ctx) {
          for (let i = 0; i < 4; i++) {
            if (i > 0) await ctx.sleep(params.gap_ms);
            await ctx.send('out', {
              type: 'audio',
              sampleRate: 48_000,
              channels: 1,
              samples: Float32Array.from([i]),
              ptsUs: i * 20_000,
            });
          }
          return 'completed';
        },
      }),
    }),
  );
  registry.register(
    defineNode({
      kind: 'test::slow_sink',
      description: 'takes its time over every packet',
      params: z.object({ delay_ms: z.number().default(0) }),
      pins: () => ({ inputs: [{ name: 'in', type: 'any' }], outputs: [] }),
      create: ({ params }) => ({
        async run(ctx) {
          for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
            if (ev.type === 'packet') {
              got.push(ev.packet);
              await ctx.sleep(params.delay_ms);
            }
          }
          return 'input_closed';
        },
      }),
    }),
  );
  return { registry, got, hosts, readyProgress, ends };
}

/** sine (duration_ms) → test::codec → test::collect, as a oneshot run. */
function codecRun(h: Harness, durationMs: number) {
  return runOneshot(
    pipeline(
      [
        ['src', 'audio::sine', { duration_ms: durationMs }],
        ['codec', 'test::codec'],
        ['sink', 'test::collect'],
      ],
      ['src>codec', 'codec>sink'],
    ),
    { registry: h.registry, clock },
  );
}

/** After a run: every thread and process the codec nodes used has exited. */
async function expectHostsGone(hosts: CodecHost[]): Promise<void> {
  expect(hosts.length).toBeGreaterThan(0);
  for (const host of hosts) {
    const exit = await host.exited;
    expect(exit).toBeDefined();
    if (host instanceof ProcessCodecHost) expect(processAlive(host.pid!)).toBe(false);
  }
}

const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.shutdown()));
});

describe('[C1] codec work is off the control loop', () => {
  it('[C1] while a codec thread is busy, the engine answers 200 tune requests on another node', async () => {
    const flag = new Int32Array(new SharedArrayBuffer(12)); // [0] release, [1] busy, [2] left the loop
    const h = harness('worker', { mode: 'hold', flag: flag.buffer }, { idleTimeoutMs: 600_000 });
    const engine = new Engine({ registry: h.registry, clock });
    engines.push(engine);
    const built = await engine.applyBatch([
      { op: 'add_node', id: 'src', kind: 'audio::sine', params: {} },
      { op: 'add_node', id: 'codec', kind: 'test::codec' },
      { op: 'add_node', id: 'sink', kind: 'core::sink' },
      { op: 'add_node', id: 'tone', kind: 'audio::sine', params: {} },
      { op: 'add_node', id: 'g', kind: 'audio::gain', params: {} },
      { op: 'add_node', id: 'k', kind: 'core::sink' },
      { op: 'connect', from: { node: 'src' }, to: { node: 'codec' } },
      { op: 'connect', from: { node: 'codec' }, to: { node: 'sink' } },
      { op: 'connect', from: { node: 'tone' }, to: { node: 'g' } },
      { op: 'connect', from: { node: 'g' }, to: { node: 'k' } },
    ]);
    expect(built.ok).toBe(true);
    await until(() => Atomics.load(flag, 1) === 1); // the codec thread is now spinning

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => engine.tune('g', { gain: (i % 10) / 10 })),
    );

    expect(results.every((r) => r.ok)).toBe(true);
    // Every answer came while the codec was still busy: it has not left its loop.
    expect(Atomics.load(flag, 2)).toBe(0);
    expect(engine.snapshot().nodes.find((n) => n.id === 'g')!.params.gain).toBe(0.9);
    Atomics.store(flag, 0, 1);
    await until(() => Atomics.load(flag, 2) === 1);
  });
});

describe('[C2][C3][C5] the watchdog abandons a wedged codec', () => {
  const wedges: Array<{ name: string; host: CodecHostKind; mode: string }> = [
    { name: 'an endless loop in a worker', host: 'worker', mode: 'spin' },
    { name: 'an endless loop in a child process', host: 'process', mode: 'spin' },
    {
      name: 'a blocking wait in a child process (native-hang case)',
      host: 'process',
      mode: 'block',
    },
  ];

  for (const w of wedges) {
    it(`[C3][C5] ${w.name}: the node fails naming itself and the truncated output, the run is an error, the ${w.host} is gone`, async () => {
      // 20 frames into a window of 4: the queue fills behind the wedged frame.
      const h = harness(w.host, { mode: w.mode }, { idleTimeoutMs: 150, maxInFlight: 4 });
      const r = await codecRun(h, 400);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.failed).toHaveLength(1);
      expect(r.failed[0]!.node).toBe('codec');
      expect(r.failed[0]!.reason).toMatch(
        /^node codec \(test::codec\): codec test-codec made no progress for \d+ ms/,
      );
      expect(r.failed[0]!.reason).toMatch(
        /room in its full input queue; the watchdog abandoned it \((its worker thread was terminated|its process was killed)\)/,
      );
      expect(r.failed[0]!.reason).toMatch(/output truncated$/);
      expect(r.problems[0]).toMatchObject({ code: 'run_failed', node: 'codec' });
      expect(h.ends.map((e) => e.end.outcome)).toEqual(['watchdog_abandoned']);
      await expectHostsGone(h.hosts);
    });

    it(`[C3] ${w.name}: the control loop answers other requests throughout, and the rest of the session carries on`, async () => {
      const h = harness(w.host, { mode: w.mode }, { idleTimeoutMs: 150 });
      const engine = new Engine({ registry: h.registry, clock });
      engines.push(engine);
      const states = new Map<string, NodeState>();
      engine.subscribe((e: EngineEvent) => {
        if (e.type === 'node_state') states.set(e.node, e.state);
      });
      await engine.applyBatch([
        { op: 'add_node', id: 'src', kind: 'audio::sine', params: { duration_ms: 200 } },
        { op: 'add_node', id: 'codec', kind: 'test::codec' },
        { op: 'add_node', id: 'sink', kind: 'core::sink' },
        { op: 'add_node', id: 'tone', kind: 'audio::sine', params: {} },
        { op: 'add_node', id: 'g', kind: 'audio::gain', params: {} },
        { op: 'add_node', id: 'k', kind: 'core::sink' },
        { op: 'connect', from: { node: 'src' }, to: { node: 'codec' } },
        { op: 'connect', from: { node: 'codec' }, to: { node: 'sink' } },
        { op: 'connect', from: { node: 'tone' }, to: { node: 'g' } },
        { op: 'connect', from: { node: 'g' }, to: { node: 'k' } },
      ]);
      await until(() => h.readyProgress.size === 1);
      const host = h.hosts[0]!;
      const ready = h.readyProgress.get(host)!;
      await until(() => host.progress > ready); // the codec's beat on entering its wedge

      let answeredWhileWedged = 0;
      while (states.get('codec')?.status !== 'failed') {
        const r = await engine.tune('g', { gain: answeredWhileWedged % 2 });
        expect(r.ok).toBe(true);
        answeredWhileWedged++;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(answeredWhileWedged).toBeGreaterThan(0);
      const failed = states.get('codec');
      expect(failed?.status === 'failed' && failed.reason).toMatch(
        /^node codec .*output truncated$/,
      );
      await expectHostsGone(h.hosts);
      // E14: the failure stayed with the codec node.
      expect(states.get('g')).toEqual({ status: 'running' });
      expect((await engine.tune('g', { gain: 0.25 })).ok).toBe(true);
    });
  }

  for (const host of ['worker', 'inline'] as const) {
    it(`[C3] a codec (${host}) whose flush never answers is abandoned after end of input; what it had sent is kept`, async () => {
      const h = harness(host, { mode: 'stall_flush' }, { idleTimeoutMs: 150 });
      const r = await codecRun(h, 100);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.failed[0]!.reason).toMatch(
        new RegExp(
          `while waiting for its flush after end of input; the watchdog abandoned it \\(${host === 'worker' ? 'its worker thread was terminated' : 'its pending call was dropped'}\\) after 5 output frames; output truncated$`,
        ),
      );
      expect(h.got).toHaveLength(5);
      expect(h.ends.map((e) => e.end.outcome)).toEqual(['watchdog_abandoned']);
    });
  }
});

describe('[C3] the watchdog fires only when the codec is demonstrably stuck', () => {
  it('[C3] input arriving slower than the idle timeout is not a stuck codec', async () => {
    const h = harness('worker', { mode: 'echo' }, { idleTimeoutMs: 40 });
    const r = await runOneshot(
      pipeline(
        [
          ['src', 'test::trickle', { gap_ms: 160 }],
          ['codec', 'test::codec'],
          ['sink', 'test::collect'],
        ],
        ['src>codec', 'codec>sink'],
      ),
      { registry: h.registry, clock },
    );
    expect(r.ok).toBe(true);
    expect(h.got).toHaveLength(4);
    expect(h.ends.map((e) => e.end.outcome)).toEqual(['completed']);
  });

  it('[C3] a downstream slower than the idle timeout is not a stuck codec', async () => {
    const h = harness('worker', { mode: 'echo' }, { idleTimeoutMs: 40, maxInFlight: 1 });
    const r = await runOneshot(
      pipeline(
        [
          ['src', 'audio::sine', { duration_ms: 100 }],
          ['codec', 'test::codec'],
          ['sink', 'test::slow_sink', { delay_ms: 160 }],
        ],
        ['src>codec', 'codec>sink'],
      ),
      { registry: h.registry, clock },
    );
    expect(r.ok).toBe(true);
    expect(h.got).toHaveLength(5);
  });

  for (const host of ['worker', 'process'] as const) {
    it(`[C3] a slow codec (${host}) that keeps beating is not stuck, even with a full queue`, async () => {
      const h = harness(
        host,
        { mode: 'slow_beating', workMs: 250 },
        { idleTimeoutMs: 100, maxInFlight: 1 },
      );
      const r = await codecRun(h, 60);
      expect(r.ok).toBe(true);
      expect(h.got).toHaveLength(3);
      expect(h.ends.map((e) => e.end.outcome)).toEqual(['completed']);
    });
  }

  it('[C3] a codec that holds everything until its flush (lag) completes with a small queue', async () => {
    const h = harness('worker', { mode: 'lag' }, { idleTimeoutMs: 100, maxInFlight: 2 });
    const r = await codecRun(h, 200);
    expect(r.ok).toBe(true);
    expect(h.got).toHaveLength(10);
  });
});

describe('[C4] a crashing codec reports crashed and the node fails', () => {
  const crashes: Array<{ name: string; host: CodecHostKind; mode: string; error: RegExp }> = [
    {
      name: 'throws in a worker',
      host: 'worker',
      mode: 'throw',
      error: /worker threw: test codec exploded/,
    },
    {
      name: 'throws in a child process',
      host: 'process',
      mode: 'throw',
      error: /process threw: test codec exploded/,
    },
    {
      name: 'throws inline',
      host: 'inline',
      mode: 'throw',
      error: /codec threw: test codec exploded/,
    },
    {
      name: 'calls process.exit in a worker',
      host: 'worker',
      mode: 'exit',
      error: /worker exited with code 3/,
    },
    {
      name: 'calls process.exit in a child process',
      host: 'process',
      mode: 'exit',
      error: /process exited with code 3/,
    },
    {
      name: 'dies of an uncaught error in a worker',
      host: 'worker',
      mode: 'throw_uncaught',
      error: /uncaught test codec error/,
    },
    {
      name: 'dies of an uncaught error in a child process',
      host: 'process',
      mode: 'throw_uncaught',
      error: /uncaught test codec error/,
    },
  ];
  for (const c of crashes) {
    it(`[C4][C5] a codec that ${c.name}: crashed, the node fails with a truncated-output reason, the run is an error`, async () => {
      const h = harness(c.host, { mode: c.mode, at: 2 });
      const r = await codecRun(h, 200);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.failed[0]!.node).toBe('codec');
      expect(r.failed[0]!.reason).toMatch(
        /^node codec \(test::codec\): codec test-codec crashed \(/,
      );
      expect(r.failed[0]!.reason).toMatch(c.error);
      expect(r.failed[0]!.reason).toMatch(/output truncated$/);
      expect(h.ends.map((e) => e.end.outcome)).toEqual(['crashed']);
      await expectHostsGone(h.hosts);
    });
  }

  it('[C4] a codec that cannot start fails the node at initialization, before the pipeline goes live', async () => {
    const h = harness('worker', { mode: 'start_throw' });
    const r = await codecRun(h, 100);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failed[0]).toEqual({
      node: 'codec',
      reason: 'initialization failed: test codec refused to start',
    });
    expect(h.ends).toEqual([]);
    await expectHostsGone(h.hosts);
  });
});

describe('[C2][C5] a clean end of stream is success', () => {
  for (const host of ['worker', 'process', 'inline'] as const) {
    it(`[C5] ${host}: every frame passes in order, the node is stopped{input_closed}, the run succeeds`, async () => {
      const h = harness(host, { mode: 'echo' });
      const r = await codecRun(h, 200);
      expect(r.ok).toBe(true);
      expect(r.states.codec).toEqual({ status: 'stopped', reason: 'input_closed' });
      const frames = h.got as AudioPacket[];
      expect(frames.map((f) => f.ptsUs)).toEqual(Array.from({ length: 10 }, (_, i) => i * 20_000));
      expect(frames.every((f) => f.samples.length === 960)).toBe(true);
      expect(h.ends).toEqual([
        { node: 'codec', end: { outcome: 'completed', framesIn: 10, framesOut: 10 } },
      ]);
      expect(r.stats.codec).toMatchObject({ codec_frames_in: 10, codec_frames_out: 10 });
      await expectHostsGone(h.hosts);
    });
  }

  it('[C5] input the codec cannot take fails the node with a truncated-output reason (not a success)', async () => {
    const h = harness('worker', { mode: 'echo' });
    const r = await runOneshot(
      pipeline(
        [
          ['src', 'audio::sine', { duration_ms: 100, sample_rate: 44_100 }],
          ['codec', 'test::codec'],
          ['sink', 'test::collect'],
        ],
        ['src>codec', 'codec>sink'],
      ),
      { registry: h.registry, clock },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failed[0]!.reason).toBe(
      'node codec (test::codec): input rejected (the test codec takes 48 kHz audio only) after 0 output frames; output truncated',
    );
  });

  it('[C2] every run ends with exactly one outcome, across completed, watchdog and crash', async () => {
    const outcomes: string[] = [];
    for (const mode of ['echo', 'spin', 'throw']) {
      const h = harness('worker', { mode }, { idleTimeoutMs: 150 });
      await codecRun(h, 100);
      expect(h.ends).toHaveLength(1);
      outcomes.push(h.ends[0]!.end.outcome);
    }
    expect(outcomes).toEqual(['completed', 'watchdog_abandoned', 'crashed']);
  });

  it('[C5] a codec node the engine stops (removed mid-stream) ends its codec without reporting a failure', async () => {
    const h = harness('worker', { mode: 'echo' });
    const engine = new Engine({ registry: h.registry, clock });
    engines.push(engine);
    const states: Array<[string, NodeState]> = [];
    engine.subscribe((e) => {
      if (e.type === 'node_state') states.push([e.node, e.state]);
    });
    await engine.applyBatch([
      { op: 'add_node', id: 'src', kind: 'audio::sine', params: {} },
      { op: 'add_node', id: 'codec', kind: 'test::codec' },
      { op: 'add_node', id: 'sink', kind: 'core::sink' },
      { op: 'connect', from: { node: 'src' }, to: { node: 'codec' } },
      { op: 'connect', from: { node: 'codec' }, to: { node: 'sink' } },
    ]);
    await until(
      () =>
        h.ends.length === 0 &&
        (engine.snapshot().nodes.find((n) => n.id === 'sink')?.stats.packets ?? 0) >= 3,
    );
    expect((await engine.removeNode('codec')).ok).toBe(true);
    await until(() => h.ends.length === 1);
    expect(h.ends[0]!.end.outcome).toBe('stopped');
    expect(states.filter(([n, s]) => n === 'codec' && s.status === 'failed')).toEqual([]);
    await expectHostsGone(h.hosts);
  });

  it('[C5] defineCodecNode marks what it makes; a plain node is not a codec node', () => {
    const h = harness('worker', { mode: 'echo' });
    expect(isCodecNode(h.registry.get('test::codec'))).toBe(true);
    expect(isCodecNode(h.registry.get('audio::gain'))).toBe(false);
    expect(isCodecNode({ ...h.registry.get('test::codec') })).toBe(false);
  });
});
