import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../../../host';
import type { Clock, ScriptWorker, WorkerSpawner } from '../../../host';
import type {
  CreateContext,
  InputEvent,
  RunContext,
  StopSignal,
  ViewDataCause,
} from '../../../node-api';
import type { Packet, VideoPacket } from '../../../packets';
import {
  COMPOSITOR_KERNEL_SERVICE,
  COMPOSITOR_THREADS_SERVICE,
  compositorNode,
} from './compositor-node';
import type { CompositorView } from './layout';
import { i420Bytes, rgbaToI420 } from './kernels/i420';
import { FramePool } from '../../../frame-pool';
import { CompositorParamsSchema } from './params';
import type { CompositorParams } from './params';

// A tiny stand-in for the engine: a scripted queue of input events (and tunes between them),
// recording what the node sends, publishes and counts.

type Step = InputEvent | { type: 'tune'; params: Record<string, unknown> };

const neverStopped: StopSignal = {
  stopped: false,
  promise: new Promise(() => {}),
  onStop: () => () => {},
};
const clock: Clock = {
  now: () => 0,
  setTimer: () => () => {},
  yieldToHost: () => Promise.resolve(),
};

async function runNode(
  rawParams: Record<string, unknown>,
  steps: Step[],
  options: {
    connected?: string[];
    kernel?: 'ts' | 'wasm' | 'wasm2' | 'auto';
    threads?: WorkerSpawner;
    /** Act as a consumer that copies each frame's first pixel and releases it at once. */
    releaseSent?: boolean;
  } = {},
) {
  let params = CompositorParamsSchema.parse(rawParams);
  const sent: VideoPacket[] = [];
  const firstPixels: number[][] = [];
  const views: { view: CompositorView; cause: ViewDataCause }[] = [];
  let stats: Record<string, number> = {};
  const health: { status: string; reason?: string }[] = [];
  const tuneListeners = new Set<
    (p: CompositorParams, changed: Partial<CompositorParams>) => void
  >();
  const connected = new Set(options.connected ?? []);
  const createCtx: CreateContext<CompositorParams> = {
    nodeId: 'mix',
    kind: compositorNode.kind,
    params,
    mode: 'oneshot',
    logger: silentLogger,
    clock,
    services: {
      [COMPOSITOR_KERNEL_SERVICE]: options.kernel ?? 'wasm',
      [COMPOSITOR_THREADS_SERVICE]: options.threads,
    },
    signal: neverStopped,
  };
  const instance = await compositorNode.create(createCtx);
  const queue = [...steps];
  const ctx: RunContext<CompositorParams> = {
    nodeId: 'mix',
    mode: 'oneshot',
    logger: silentLogger,
    clock,
    get params() {
      return params;
    },
    signal: neverStopped,
    connectedInputs: () => [...connected],
    async recv() {
      for (;;) {
        const step = queue.shift();
        if (!step) return null;
        if (step.type === 'tune') {
          params = CompositorParamsSchema.parse({ ...params, ...step.params });
          for (const listener of tuneListeners)
            listener(params, step.params as Partial<CompositorParams>);
          continue;
        }
        if (step.type === 'pin_added') connected.add(step.pin);
        if (step.type === 'pin_removed') connected.delete(step.pin);
        return step;
      }
    },
    async send(pin: string, packet: Packet) {
      expect(pin).toBe('out');
      expect(packet.type).toBe('video');
      sent.push(packet as VideoPacket);
      if (options.releaseSent) {
        firstPixels.push([...(packet as VideoPacket).data.subarray(0, 4)]);
        return;
      }
      // Kept for the assertions, as a link queue would hold it: one more reference, never released.
      (packet as VideoPacket).lease?.retain();
    },
    sleep: () => Promise.resolve(),
    pace: () => Promise.resolve(),
    setHealth: (status, reason) => health.push({ status, reason }),
    stats(values) {
      stats = { ...stats, ...values };
    },
    viewData(data, cause) {
      views.push({ view: JSON.parse(JSON.stringify(data)) as CompositorView, cause });
    },
    onTune(listener) {
      tuneListeners.add(listener);
      return () => tuneListeners.delete(listener);
    },
  };
  const reason = await instance.run(ctx);
  await instance.dispose?.();
  return { reason, sent, firstPixels, views, health, stats: () => stats };
}

function frame(
  width: number,
  height: number,
  rgba: [number, number, number, number],
  ptsUs = 0,
): VideoPacket {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set(rgba, i);
  return { type: 'video', width, height, data, ptsUs };
}

/**
 * Workers that start (they answer the kernel's init with 'ready') but never take a band, so the
 * node's thread draws every row; `dieAfterStart` makes each exit right after starting.
 */
function idleThreads(dieAfterStart = false) {
  const workers: { terminated: boolean }[] = [];
  const spawner: WorkerSpawner = {
    spawn(): ScriptWorker {
      const record = { terminated: false };
      workers.push(record);
      const onMessage = new Set<(message: unknown) => void>();
      const onExit = new Set<(reason: string) => void>();
      const exit = (reason: string) => {
        for (const listener of onExit) listener(reason);
        onExit.clear();
      };
      return {
        postMessage(message) {
          if ((message as { type?: string }).type !== 'init') return;
          void Promise.resolve().then(() => {
            for (const listener of onMessage) listener({ type: 'ready' });
            if (dieAfterStart) void Promise.resolve().then(() => exit('exit code 1'));
          });
        },
        onMessage(listener) {
          onMessage.add(listener);
          return () => onMessage.delete(listener);
        },
        onExit(listener) {
          onExit.add(listener);
          return () => onExit.delete(listener);
        },
        terminate() {
          record.terminated = true;
          exit('terminated');
        },
      };
    },
  };
  return { spawner, workers };
}

const packet = (pin: string, p: Packet): InputEvent => ({ type: 'packet', pin, packet: p });
const pixel = (f: VideoPacket, x: number, y: number) => [
  ...f.data.subarray((y * f.width + x) * 4, (y * f.width + x) * 4 + 4),
];

describe('video::compositor node', () => {
  it('emits I420 frames when output_format is i420: the RGBA output, converted', async () => {
    for (const kernel of ['wasm', 'ts'] as const) {
      const steps = (): Step[] => [
        packet('in_0', frame(32, 16, [200, 30, 90, 255])),
        packet('in_1', frame(8, 8, [10, 220, 40, 255])),
        packet('in_0', frame(32, 16, [200, 30, 90, 255], 33_333)),
      ];
      const opts = { connected: ['in_0', 'in_1'], kernel };
      const rgba = await runNode({ width: 32, height: 16 }, steps(), opts);
      const yuv = await runNode({ width: 32, height: 16, output_format: 'i420' }, steps(), opts);
      expect(yuv.sent.map((f) => [f.format, f.data.length, f.ptsUs])).toEqual([
        ['i420', 32 * 16 * 1.5, 0],
        ['i420', 32 * 16 * 1.5, 33_333],
      ]);
      expect(rgba.sent.every((f) => f.format === 'rgba')).toBe(true);
      for (const [i, f] of yuv.sent.entries()) {
        const expected = new Uint8Array(i420Bytes(32, 16));
        rgbaToI420(rgba.sent[i]!.data, 32, 16, expected);
        expect(f.data, `${kernel} frame ${i}`).toEqual(expected);
      }
    }
  });

  it('refuses i420 output at an odd size, naming the field', () => {
    const parsed = CompositorParamsSchema.safeParse({
      width: 33,
      height: 16,
      output_format: 'i420',
    });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(/output_format.*even width and height/);
  });

  it('does not draw I420 input frames and reports the pin once as degraded', async () => {
    const yuv: VideoPacket = {
      ...frame(8, 8, [0, 0, 0, 0]),
      format: 'i420',
      data: new Uint8Array(96),
    };
    const result = await runNode(
      { width: 8, height: 8 },
      [packet('in_0', yuv), packet('in_0', yuv)],
      {
        connected: ['in_0'],
      },
    );
    expect(result.sent).toEqual([]);
    expect(result.health).toEqual([
      {
        status: 'degraded',
        reason: 'in_0 sends i420 frames; the compositor draws RGBA inputs only',
      },
    ]);
  });

  it('declares an in_ family of raw video and one raw video output; {} is valid params', () => {
    const pins = compositorNode.pins(compositorNode.params.parse({}));
    expect(pins.inputs).toEqual([
      expect.objectContaining({ name: 'in_', type: 'raw_video', family: true }),
    ]);
    expect(pins.outputs).toEqual([{ name: 'out', type: 'raw_video' }]);
    expect(() => z.toJSONSchema(compositorNode.params, { io: 'input' })).not.toThrow();
  });

  it.each(['wasm', 'ts'] as const)(
    'emits one frame per primary-input frame, with the latest frame of the others (%s kernel)',
    async (kernel) => {
      const { reason, sent, stats } = await runNode(
        {
          width: 64,
          height: 36,
          layers: { in_1: { rect: { x: 32, y: 18, width: 32, height: 18 } } },
        },
        [
          { type: 'pin_added', pin: 'in_0' },
          { type: 'pin_added', pin: 'in_1' },
          packet('in_0', frame(64, 36, [255, 0, 0, 255], 0)),
          packet('in_1', frame(32, 18, [0, 255, 0, 255], 0)),
          packet('in_1', frame(32, 18, [0, 0, 255, 255], 10_000)),
          packet('in_0', frame(64, 36, [255, 0, 0, 255], 33_333)),
          { type: 'pin_closed', pin: 'in_1' },
          { type: 'pin_closed', pin: 'in_0' },
        ],
        { kernel },
      );
      expect(reason).toBe('input_closed');
      expect(sent.map((f) => [f.width, f.height, f.ptsUs])).toEqual([
        [64, 36, 0],
        [64, 36, 33_333],
      ]);
      expect(pixel(sent[0]!, 40, 20)).toEqual([255, 0, 0, 255]);
      // Only the latest in_1 frame (blue) is drawn; the green one was superseded before in_0's next frame.
      expect(pixel(sent[1]!, 40, 20)).toEqual([0, 0, 255, 255]);
      expect(pixel(sent[1]!, 10, 10)).toEqual([255, 0, 0, 255]);
      expect(stats()).toMatchObject({
        frames_in: 4,
        frames_out: 2,
        kernel_wasm: kernel === 'wasm' ? 1 : 0,
      });
      expect(stats().composite_us).toBeGreaterThanOrEqual(0);
    },
  );

  it('sends a fresh buffer per frame (packets are immutable once sent)', async () => {
    const { sent } = await runNode({ width: 8, height: 8 }, [
      { type: 'pin_added', pin: 'in_0' },
      packet('in_0', frame(8, 8, [1, 2, 3, 255])),
      packet('in_0', frame(8, 8, [4, 5, 6, 255])),
    ]);
    expect(sent[0]!.data).not.toBe(sent[1]!.data);
    expect(pixel(sent[0]!, 0, 0)).toEqual([1, 2, 3, 255]);
    expect(pixel(sent[1]!, 0, 0)).toEqual([4, 5, 6, 255]);
  });

  it('releases an input frame once a newer one of its pin replaces it, the rest on dispose; released outputs are reused', async () => {
    const pool = new FramePool();
    const pooled = (rgba: [number, number, number, number], pts: number): VideoPacket => {
      const f = frame(8, 8, rgba, pts);
      const lease = pool.acquire(f.data.byteLength);
      lease.data.set(f.data);
      return { ...f, data: lease.data, lease };
    };
    const inputs = [
      pooled([1, 2, 3, 255], 1),
      pooled([4, 5, 6, 255], 2),
      pooled([7, 8, 9, 255], 3),
    ];
    const side = pooled([0, 0, 0, 0], 0);
    const { sent, firstPixels } = await runNode(
      { width: 8, height: 8 },
      [
        { type: 'pin_added', pin: 'in_0' },
        { type: 'pin_added', pin: 'in_1' },
        packet('in_1', side),
        ...inputs.map((f) => packet('in_0', f)),
      ],
      { releaseSent: true },
    );
    expect(firstPixels).toEqual([
      [1, 2, 3, 255],
      [4, 5, 6, 255],
      [7, 8, 9, 255],
    ]);
    // Every input's only reference (held by the test, as a link queue would) was released.
    expect([...inputs, side].map((f) => f.lease!.refs)).toEqual([0, 0, 0, 0]);
    // Each output went back to the node's pool once released, and the next frame reused it.
    expect(new Set(sent.map((f) => f.data)).size).toBe(1);
  });

  it('when the primary input ends, the next input drives the output', async () => {
    const { sent } = await runNode({ width: 8, height: 8 }, [
      { type: 'pin_added', pin: 'in_0' },
      { type: 'pin_added', pin: 'in_1' },
      packet('in_1', frame(8, 8, [0, 255, 0, 255], 1)),
      packet('in_0', frame(8, 8, [255, 0, 0, 255], 2)),
      { type: 'pin_closed', pin: 'in_0' },
      packet('in_1', frame(8, 8, [0, 255, 0, 255], 3)),
    ]);
    expect(sent.map((f) => f.ptsUs)).toEqual([2, 3]);
  });

  it('ignores packets that are not video, and counts them', async () => {
    const { sent, stats } = await runNode({ width: 8, height: 8 }, [
      { type: 'pin_added', pin: 'in_0' },
      packet('in_0', { type: 'text', text: 'hi' }),
      packet('in_0', frame(8, 8, [1, 2, 3, 255])),
    ]);
    expect(sent).toHaveLength(1);
    expect(stats().ignored_packets).toBe(1);
  });

  it('[S5] publishes layout changes not caused by an edit with cause "layout": pins added and removed, resolution changes', async () => {
    const { views } = await runNode({ width: 64, height: 36 }, [
      { type: 'pin_added', pin: 'in_0' },
      { type: 'pin_added', pin: 'in_1' },
      packet('in_1', frame(32, 18, [0, 255, 0, 255])),
      packet('in_1', frame(32, 18, [0, 255, 0, 255])),
      packet('in_1', frame(16, 16, [0, 255, 0, 255])),
      { type: 'pin_removed', pin: 'in_1' },
    ]);
    expect(
      views.map((v) => [
        v.cause,
        v.view.layers.map((l) => `${l.pin}:${l.source.width}x${l.source.height}`).join(' '),
      ]),
    ).toEqual([
      ['layout', ''],
      ['layout', 'in_0:0x0'],
      ['layout', 'in_0:0x0 in_1:0x0'],
      ['layout', 'in_0:0x0 in_1:32x18'],
      // The same resolution again publishes nothing; a new one does.
      ['layout', 'in_0:0x0 in_1:16x16'],
      ['layout', 'in_0:0x0'],
    ]);
  });

  it('[S4] publishes with cause "edit" after every tune, even one that leaves the layout as it was', async () => {
    const { views } = await runNode(
      { width: 64, height: 36 },
      [
        packet('in_0', frame(64, 36, [255, 0, 0, 255])),
        {
          type: 'tune',
          params: { layers: { in_0: { rect: { x: 0, y: 0, width: 32, height: 18 } } } },
        },
        { type: 'tune', params: { background: { r: 255 } } },
        {
          type: 'tune',
          params: {
            layers: { in_0: { rect: { x: 0, y: 0, width: 32, height: 18 }, rotation_degrees: 15 } },
          },
        },
      ],
      { connected: ['in_0'] },
    );
    // The background tune leaves the layout as it was and is still published: a client that
    // dropped the previous view as stale (S6) must receive one carrying its latest revision (S8).
    expect(views.map((v) => v.cause)).toEqual(['layout', 'layout', 'edit', 'edit', 'edit']);
    expect(views[2]!.view.layers[0]!.rect).toEqual({ x: 0, y: 0, width: 32, height: 18 });
    expect(views[3]!.view).toEqual(views[2]!.view);
    expect(views[4]!.view.layers[0]!.rotation_degrees).toBe(15);
  });

  it('[S4] a tune of the output size is an edit too, and the next frame has the new size', async () => {
    const { views, sent } = await runNode(
      { width: 64, height: 36 },
      [
        packet('in_0', frame(64, 36, [255, 0, 0, 255])),
        { type: 'tune', params: { width: 32, height: 18 } },
        packet('in_0', frame(64, 36, [255, 0, 0, 255])),
      ],
      { connected: ['in_0'] },
    );
    expect(views.at(-1)).toMatchObject({ cause: 'edit', view: { width: 32, height: 18 } });
    expect(sent.map((f) => [f.width, f.height])).toEqual([
      [64, 36],
      [32, 18],
    ]);
    expect(pixel(sent[1]!, 31, 17)).toEqual([255, 0, 0, 255]);
  });

  it('composites on two threads when the host gives a worker spawner, and stops the worker on dispose', async () => {
    const { spawner, workers } = idleThreads();
    const steps: Step[] = [
      { type: 'pin_added', pin: 'in_0' },
      packet('in_0', frame(16, 8, [9, 8, 7, 255])),
    ];
    const { sent, stats, health } = await runNode({ width: 16, height: 8 }, steps, {
      kernel: 'auto',
      threads: spawner,
    });
    expect(pixel(sent[0]!, 15, 7)).toEqual([9, 8, 7, 255]);
    expect(stats()).toMatchObject({ kernel_wasm: 1, kernel_threads: 2 });
    expect(health).toEqual([]);
    expect(workers).toHaveLength(1);
    expect(workers[0]!.terminated).toBe(true);
  });

  it('a worker that dies leaves the node running degraded on one thread, frames still right', async () => {
    const { spawner } = idleThreads(true);
    const { sent, stats, health } = await runNode(
      { width: 16, height: 8 },
      [
        { type: 'pin_added', pin: 'in_0' },
        packet('in_0', frame(16, 8, [9, 8, 7, 255])),
        packet('in_0', frame(16, 8, [1, 2, 3, 255])),
      ],
      { kernel: 'wasm2', threads: spawner },
    );
    expect(sent.map((f) => pixel(f, 3, 3))).toEqual([
      [9, 8, 7, 255],
      [1, 2, 3, 255],
    ]);
    expect(health).toEqual([
      { status: 'degraded', reason: 'compositor worker exited: exit code 1' },
    ]);
    expect(stats()).toMatchObject({ kernel_threads: 1, frames_out: 2 });
  });

  it('ends with input_closed when recv returns null', async () => {
    const { reason, sent } = await runNode({}, []);
    expect(reason).toBe('input_closed');
    expect(sent).toEqual([]);
  });
});
