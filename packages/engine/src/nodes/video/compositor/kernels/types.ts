import type { ResolvedLayer } from '../layout';
import type { Rgba } from '../params';

/** How a source pixel is picked for a destination pixel. */
export const Filter = { bilinear: 'bilinear', nearest: 'nearest' } as const;
export type Filter = (typeof Filter)[keyof typeof Filter];

/** Which implementation composites: the node reports it in its stats. */
export const KernelKind = {
  /** WebAssembly SIMD on the calling thread. */
  wasm: 'wasm',
  /** The same module on a shared memory, rows split between the calling thread and a worker. */
  wasm2: 'wasm2',
  ts: 'ts',
  reference: 'reference',
} as const;
export type KernelKind = (typeof KernelKind)[keyof typeof KernelKind];

/** One output frame to draw: the layers (bottom first) over a background. */
export interface CompositeJob {
  width: number;
  height: number;
  background: Rgba;
  /** Sorted bottom first (as `resolveLayout` returns them); a layer's source is looked up by `pin`. */
  layers: readonly ResolvedLayer[];
  filter: Filter;
}

/**
 * A compositor kernel. Sources are straight-alpha RGBA8 frames keyed by pin; a kernel may keep a
 * reference to `data` (packets are immutable) and copy it lazily, once, when first composited.
 */
export interface CompositorKernel {
  readonly kind: KernelKind;
  /** Threads compositing now: 2 for `wasm2` while its worker lives, else 1. */
  readonly threads: number;
  /** Set once a multi-threaded kernel has lost its worker and composites on one thread. */
  readonly degradedReason?: string;
  setSource(pin: string, width: number, height: number, data: Uint8Array): void;
  deleteSource(pin: string): void;
  /** Draws `job`; layers whose source is missing or whose size differs from `layer.source` are skipped. */
  composite(job: CompositeJob): void;
  /** The last output (straight-alpha RGBA8): a view that the next `composite` overwrites. */
  output(): Uint8Array;
  /**
   * The last output as I420 (planar YUV 4:2:0, BT.601 limited range; see i420.ts): a view that
   * the next call overwrites. The output's width and height must be even.
   */
  outputI420(): Uint8Array;
  /** Frees the kernel's memory and stops its worker, if any. */
  dispose(): void;
}
