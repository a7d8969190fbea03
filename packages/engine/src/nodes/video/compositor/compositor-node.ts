import { assertNever, familyIndex } from '@patchbay/protocol';
import { FramePool, releasePacket } from '../../../frame-pool';
import type { WorkerSpawner } from '../../../host';
import { defineNode } from '../../../node-api';
import type { EngineServices, NodeInstance, RunContext, ViewDataCause } from '../../../node-api';
import type { VideoPacket } from '../../../packets';
import { createKernel } from './kernels/create-kernel';
import type { KernelPreference } from './kernels/create-kernel';
import type { CompositorKernel } from './kernels/types';
import { layoutView, resolveLayout } from './layout';
import type { LayoutInput, ResolvedLayer } from './layout';
import { CompositorParamsSchema } from './params';
import type { CompositorParams } from './params';

/**
 * The `EngineServices` entry a host may set to pick the kernel (`'auto'` when absent): tests
 * and benchmarks force `'ts'`, `'wasm'` or `'wasm2'`.
 */
export const COMPOSITOR_KERNEL_SERVICE = 'compositorKernel';

/**
 * The `EngineServices` entry holding a `WorkerSpawner`: with it, `'auto'` composites on two
 * threads (the node's and one worker's).
 */
export const COMPOSITOR_THREADS_SERVICE = 'compositorThreads';

/**
 * `video::compositor`: draws its inputs (`in_0`, `in_1`, …) as layers onto one RGBA output.
 *
 * Timing: one output frame per frame arriving on the primary input (the lowest-index connected
 * pin whose stream has not ended), drawn with the latest frame of every other input. Output
 * is therefore driven by data, not by a timer: in an unpaced oneshot run the frames come as
 * fast as the inputs can produce them, and the number of output frames and what each shows
 * depend only on the order of packets (the engine's round-robin `recv`), never on wall-clock
 * speed; a timer at `fps` would drop or duplicate frames depending on machine load. When the
 * primary ends, the next input takes over, so output continues while any input lives.
 */
export const compositorNode = defineNode<CompositorParams>({
  kind: 'video::compositor',
  description:
    'Composites RGBA video inputs into one frame (RGBA, or I420 for an encoder): per-input rect, aspect fit, crop, rotation, mirror, opacity and circle mask; inputs without a layer config become picture-in-picture tiles.',
  params: CompositorParamsSchema,
  pins: () => ({
    inputs: [
      {
        name: 'in_',
        type: 'raw_video',
        family: true,
        description: 'Layers, one per connection (in_0 is the primary).',
      },
    ],
    outputs: [{ name: 'out', type: 'raw_video' }],
  }),
  async create(ctx) {
    const { kernel, fallbackReason } = await createKernel(kernelPreference(ctx.services), {
      threads: threadsService(ctx.services),
      clock: ctx.clock,
    });
    if (fallbackReason !== undefined) {
      ctx.logger.warn(
        { reason: fallbackReason, kernel: kernel.kind },
        'compositor: preferred kernel unavailable, using a slower one',
      );
    }
    return new CompositorInstance(kernel);
  },
});

function kernelPreference(services: EngineServices): KernelPreference {
  const value = services[COMPOSITOR_KERNEL_SERVICE];
  return value === 'wasm2' || value === 'wasm' || value === 'ts' ? value : 'auto';
}

function threadsService(services: EngineServices): WorkerSpawner | undefined {
  const value = services[COMPOSITOR_THREADS_SERVICE] as Partial<WorkerSpawner> | undefined;
  return typeof value?.spawn === 'function' ? (value as WorkerSpawner) : undefined;
}

class CompositorInstance implements NodeInstance<CompositorParams> {
  /** Connected input pins, with whether their stream has ended. */
  private readonly inputs = new Map<string, { closed: boolean }>();
  /** Each input's latest frame, whose pixels the kernel reads; released when replaced. */
  private readonly latest = new Map<string, VideoPacket>();
  private readonly outputPool = new FramePool();
  private layers: ResolvedLayer[] = [];
  /** JSON of the last published view, to publish only changes. */
  private published: string | undefined;
  private framesIn = 0;
  private framesOut = 0;
  private lastPtsUs: number | undefined;
  private lastPrimary: string | undefined;
  private ignored = 0;
  private compositeMsTotal = 0;
  private convertMsTotal = 0;
  /** Whether the kernel's loss of its worker has been reported. */
  private degradeReported = false;
  /** Pins whose frames were refused for their pixel format (reported once each). */
  private readonly refusedFormats = new Set<string>();

  constructor(private readonly kernel: CompositorKernel) {}

  async run(ctx: RunContext<CompositorParams>): Promise<'input_closed'> {
    for (const pin of ctx.connectedInputs()) this.inputs.set(pin, { closed: false });
    this.relayout(ctx, 'layout', true);
    // Every tune publishes, changed or not: the engine stamps it with the new revision, and a
    // client that dropped the previous view as stale (S6) needs one carrying its own latest
    // edit to converge (S8).
    const offTune = ctx.onTune(() => this.relayout(ctx, 'edit', true));
    try {
      for (;;) {
        const event = await ctx.recv();
        if (event === null) return 'input_closed';
        switch (event.type) {
          case 'pin_added':
            this.inputs.set(event.pin, { closed: false });
            this.relayout(ctx, 'layout');
            break;
          case 'pin_removed':
            this.inputs.delete(event.pin);
            this.kernel.deleteSource(event.pin);
            this.releaseLatest(event.pin);
            this.relayout(ctx, 'layout');
            break;
          case 'pin_closed': {
            // Its last frame stays on screen; it just stops driving output.
            const input = this.inputs.get(event.pin);
            if (input) input.closed = true;
            break;
          }
          case 'packet': {
            const { pin, packet } = event;
            if (packet.type !== 'video') {
              this.ignored++;
              break;
            }
            if ((packet.format ?? 'rgba') !== 'rgba') {
              this.refuseFormat(ctx, pin, packet.format ?? 'rgba');
              releasePacket(packet);
              break;
            }
            await this.onFrame(ctx, pin, packet);
            break;
          }
          default:
            assertNever(event, 'input event');
        }
      }
    } finally {
      offTune();
    }
  }

  dispose(): void {
    this.kernel.dispose();
    for (const pin of [...this.latest.keys()]) this.releaseLatest(pin);
    this.outputPool.clear();
  }

  /** The kernel no longer reads this pin's frame: its buffer can go back to its producer. */
  private releaseLatest(pin: string): void {
    const frame = this.latest.get(pin);
    this.latest.delete(pin);
    if (frame) releasePacket(frame);
  }

  private async onFrame(
    ctx: RunContext<CompositorParams>,
    pin: string,
    frame: VideoPacket,
  ): Promise<void> {
    this.framesIn++;
    const prev = this.latest.get(pin);
    this.latest.set(pin, frame);
    this.kernel.setSource(pin, frame.width, frame.height, frame.data);
    // The kernel has let go of the previous frame of this pin.
    if (prev) releasePacket(prev);
    if (!this.inputs.has(pin)) {
      // A packet before its pin_added (or after a reconnect) still makes the pin a layer.
      this.inputs.set(pin, { closed: false });
      this.relayout(ctx, 'layout');
    } else if (!prev || prev.width !== frame.width || prev.height !== frame.height) {
      this.relayout(ctx, 'layout');
    }
    if (pin !== this.primary()) {
      ctx.stats({ frames_in: this.framesIn });
      return;
    }
    // When a new primary takes over (the old one ended), its frames at or before the last
    // output time were already shown: drawing them again would send a timestamp backwards.
    const takeover = this.lastPrimary !== undefined && this.lastPrimary !== pin;
    if (takeover && this.lastPtsUs !== undefined && frame.ptsUs <= this.lastPtsUs) {
      ctx.stats({ frames_in: this.framesIn });
      return;
    }
    this.lastPrimary = pin;
    this.lastPtsUs = frame.ptsUs;
    const { width, height, background, output_format: format } = ctx.params;
    const t0 = ctx.clock.now();
    this.kernel.composite({ width, height, background, layers: this.layers, filter: 'bilinear' });
    let output = this.kernel.output();
    if (format === 'i420') {
      const t1 = ctx.clock.now();
      output = this.kernel.outputI420();
      this.convertMsTotal += ctx.clock.now() - t1;
    }
    // The kernel reuses its output buffers; packets are immutable once sent, so each gets a copy,
    // in a pooled buffer that comes back once the consumers release it (an encoder does).
    const lease = this.outputPool.acquire(output.byteLength);
    const data = lease.data;
    data.set(output);
    this.compositeMsTotal += ctx.clock.now() - t0;
    this.framesOut++;
    const degradedReason = this.kernel.degradedReason;
    if (degradedReason !== undefined && !this.degradeReported) {
      // The frame is still drawn (on this thread); only the speed is lost, so the node keeps
      // running, degraded, rather than failing.
      this.degradeReported = true;
      ctx.logger.warn(
        { reason: degradedReason },
        'compositor: worker lost, compositing on one thread',
      );
      ctx.setHealth('degraded', degradedReason);
    }
    ctx.stats({
      frames_in: this.framesIn,
      frames_out: this.framesOut,
      // Compositing and copying out, conversion included; convert_us is the conversion alone.
      composite_us: Math.round((this.compositeMsTotal * 1000) / this.framesOut),
      convert_us: Math.round((this.convertMsTotal * 1000) / this.framesOut),
      kernel_wasm: this.kernel.kind === 'wasm' || this.kernel.kind === 'wasm2' ? 1 : 0,
      kernel_threads: this.kernel.threads,
      ignored_packets: this.ignored,
    });
    await ctx.send('out', {
      type: 'video',
      width,
      height,
      format,
      data,
      ptsUs: frame.ptsUs,
      lease,
    });
    lease.release();
  }

  /** Frames in another pixel format than RGBA are not drawn; the node says so once per pin. */
  private refuseFormat(ctx: RunContext<CompositorParams>, pin: string, format: string): void {
    this.ignored++;
    if (this.refusedFormats.has(pin)) return;
    this.refusedFormats.add(pin);
    const reason = `${pin} sends ${format} frames; the compositor draws RGBA inputs only`;
    ctx.logger.warn({ pin, format }, 'compositor: input frames ignored');
    ctx.setHealth('degraded', reason);
  }

  /** The lowest-index connected input whose stream has not ended. */
  private primary(): string | undefined {
    let best: string | undefined;
    let bestIndex = Number.POSITIVE_INFINITY;
    for (const [pin, { closed }] of this.inputs) {
      if (closed) continue;
      const index = familyIndex(pin) ?? Number.MAX_SAFE_INTEGER;
      if (index < bestIndex || (index === bestIndex && best !== undefined && pin < best)) {
        best = pin;
        bestIndex = index;
      }
    }
    return best;
  }

  /**
   * Recomputes the layout; publishes it when it changed (or when `force`d, as after every tune),
   * with `edit` after a tune and `layout` otherwise (S5: pin and resolution changes are never suppressed by clients).
   */
  private relayout(ctx: RunContext<CompositorParams>, cause: ViewDataCause, force = false): void {
    const inputs: LayoutInput[] = [];
    for (const pin of this.inputs.keys()) {
      const frame = this.latest.get(pin);
      inputs.push({ pin, width: frame?.width ?? 0, height: frame?.height ?? 0 });
    }
    this.layers = resolveLayout(ctx.params, inputs);
    const view = layoutView(ctx.params, this.layers);
    const json = JSON.stringify(view);
    if (!force && json === this.published) return;
    this.published = json;
    ctx.viewData(view, cause);
  }
}
