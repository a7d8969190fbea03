import { decodeBase64 } from './base64';
import { i420Bytes } from './i420';
import { COMPOSITOR_WASM_BASE64 } from './generated/compositor-wasm';
import { axisMap, LayerKind, layerGeometry } from './geometry';
import type { LayerGeometry } from './geometry';
import { coversOpaquely, premultiplied } from './ts-kernel';
import type { CompositeJob, CompositorKernel, KernelKind } from './types';
import { wasmApi } from './wasm-api';
import type { WasmInstance, WasmMemory } from './wasm-api';
import { WasmArena } from './wasm-arena';

/** The exports of assembly/compositor.ts the host calls (addresses are byte offsets into memory). */
export interface KernelExports {
  heapBase(): number;
  premultiply(ptr: number, pixels: number): number;
  /** Runs `count` job records at `cmds` on output rows [yStart, yEnd). */
  run(cmds: number, count: number, yStart: number, yEnd: number): void;
  /** RGBA8 at `src` → I420 at `dst` (see kernels/i420.ts); width and height even. */
  rgbaToI420(src: number, width: number, height: number, dst: number): void;
}

const EXPORTED_FUNCTIONS = ['heapBase', 'premultiply', 'run', 'rgbaToI420'] as const;

/** Job record opcodes and size; mirrors the `OP_*` constants in assembly/compositor.ts. */
const Op = { fill: 1, copy: 2, axisBilinear: 3, axisNearest: 4, affine: 5, unpremultiply: 6 };
const CMD_SLOTS = 32;
/** A job has a fill, the layers and an unpremultiply at most. */
const FIXED_CMDS = 2;

/** Kernels read in 16-byte groups that may run past a buffer's end (see assembly/compositor.ts). */
const PAD = 16;
/** Layer weights are 0..256 in the kernel. */
const K_ONE = 256;

interface WasmSource {
  width: number;
  height: number;
  /** The latest frame, copied into `ptr` on first use. */
  data: Uint8Array;
  dirty: boolean;
  ptr: number;
  capacity: number;
  opaque: boolean;
}

interface WasmMaps {
  key: string;
  ptr: number;
  colOff: number;
  colFrac: number;
  rowOff0: number;
  rowOff1: number;
  rowFrac: number;
}

let modulePromise: Promise<Uint8Array> | undefined;

/**
 * Instantiates the WebAssembly SIMD kernel. Rejects where WebAssembly or SIMD is unavailable;
 * `createKernel` then falls back to the TypeScript kernel.
 */
export async function createWasmKernel(): Promise<CompositorKernel> {
  const api = wasmApi();
  if (!api) throw new Error('WebAssembly is not available');
  modulePromise ??= Promise.resolve(decodeBase64(COMPOSITOR_WASM_BASE64));
  const bytes = await modulePromise;
  if (!api.validate(bytes)) throw new Error('WebAssembly SIMD is not supported here');
  const { instance } = await api.instantiate(bytes, {});
  const memory = instance.exports.memory as WasmMemory;
  return new WasmKernel(kernelExports(instance), memory);
}

/** The instance's exports, checked. */
export function kernelExports(instance: WasmInstance): KernelExports {
  const ex = instance.exports;
  for (const name of EXPORTED_FUNCTIONS) {
    if (typeof ex[name] !== 'function') throw new Error(`compositor kernel lacks export ${name}`);
  }
  return ex as unknown as KernelExports;
}

/**
 * The WebAssembly kernel: geometry and maps in TypeScript, the job as records in WASM memory,
 * pixels by the module's `run`. A subclass may run the rows on more threads (`runRows`).
 */
export class WasmKernel implements CompositorKernel {
  get kind(): KernelKind {
    return 'wasm';
  }
  get threads(): number {
    return 1;
  }
  protected readonly arena: WasmArena;
  private readonly sources = new Map<string, WasmSource>();
  private readonly maps = new Map<string, WasmMaps>();
  private outPtr = 0;
  private outPixels = -1;
  private out8: Uint8Array = new Uint8Array(0);
  private cmdPtr = 0;
  private cmdCapacity = 0;
  private outWidth = 0;
  private outHeight = 0;
  private i420Ptr = 0;
  private i420Capacity = 0;

  constructor(
    protected readonly ex: KernelExports,
    protected readonly memory: WasmMemory,
  ) {
    this.arena = new WasmArena(memory, ex.heapBase());
  }

  setSource(pin: string, width: number, height: number, data: Uint8Array): void {
    const prev = this.sources.get(pin);
    if (prev) {
      prev.width = width;
      prev.height = height;
      prev.data = data;
      prev.dirty = true;
      return;
    }
    this.sources.set(pin, { width, height, data, dirty: true, ptr: 0, capacity: 0, opaque: false });
  }

  deleteSource(pin: string): void {
    const src = this.sources.get(pin);
    if (src?.capacity) this.arena.release(src.ptr);
    this.sources.delete(pin);
    this.dropMaps(pin);
  }

  output(): Uint8Array {
    // Rebuilt when the memory grew (the old buffer is detached then, or too short if shared).
    if (this.out8.buffer !== this.memory.buffer)
      this.out8 = this.view(this.outPtr, Math.max(0, this.outPixels) * 4);
    return this.out8;
  }

  outputI420(): Uint8Array {
    const W = this.outWidth;
    const H = this.outHeight;
    if (W % 2 !== 0 || H % 2 !== 0) throw new RangeError(`I420 needs an even size, not ${W}×${H}`);
    const bytes = i420Bytes(W, H);
    if (this.i420Capacity < bytes) {
      if (this.i420Capacity) this.arena.release(this.i420Ptr);
      this.i420Ptr = this.arena.alloc(bytes);
      this.i420Capacity = bytes;
    }
    this.ex.rgbaToI420(this.outPtr, W, H, this.i420Ptr);
    return this.view(this.i420Ptr, bytes);
  }

  dispose(): void {
    for (const pin of [...this.sources.keys()]) this.deleteSource(pin);
  }

  /** Bytes of WASM memory held for frames, output, maps and jobs (for stats). */
  get memoryBytes(): number {
    return this.arena.used;
  }

  composite(job: CompositeJob): void {
    // encode first: it may move the job records.
    const count = this.encode(job);
    if (!this.runRows(this.cmdPtr, count, job.height)) {
      // A subclass lost its helper thread mid-frame and abandoned the frame's buffers (see
      // abandonFrameBuffers): draw the frame again, here, into new ones.
      const again = this.encode(job);
      this.ex.run(this.cmdPtr, again, 0, job.height);
    }
    this.out8 = this.view(this.outPtr, job.width * job.height * 4);
    this.outWidth = job.width;
    this.outHeight = job.height;
  }

  /**
   * Draws output rows [0, height) from the job records: here, on this thread in one call.
   * Returns false when the rows were not all drawn.
   */
  protected runRows(cmds: number, count: number, height: number): boolean {
    this.ex.run(cmds, count, 0, height);
    return true;
  }

  /**
   * Forgets the output and job buffers without freeing them and returns their addresses, for a
   * subclass whose worker may still be writing them: the next frame allocates new ones.
   */
  protected abandonFrameBuffers(): number[] {
    const ptrs = [this.outPtr, this.cmdPtr].filter((_, i) =>
      i === 0 ? this.outPixels >= 0 : this.cmdCapacity > 0,
    );
    this.outPixels = -1;
    this.cmdCapacity = 0;
    return ptrs;
  }

  /** Takes in the job's sources and writes its records; returns how many. */
  private encode(job: CompositeJob): number {
    const W = job.width;
    const H = job.height;
    if (this.outPixels !== W * H) {
      if (this.outPixels >= 0) this.arena.release(this.outPtr);
      this.outPtr = this.arena.alloc(W * H * 4 + PAD);
      this.outPixels = W * H;
    }
    if (this.cmdCapacity < job.layers.length + FIXED_CMDS) {
      if (this.cmdCapacity) this.arena.release(this.cmdPtr);
      this.cmdCapacity = job.layers.length + FIXED_CMDS;
      this.cmdPtr = this.arena.alloc(this.cmdCapacity * CMD_SLOTS * 8);
    }
    const nearest = job.filter === 'nearest';
    const draws: { pin: string; g: LayerGeometry; src: WasmSource }[] = [];
    for (const layer of job.layers) {
      const src = this.sources.get(layer.pin);
      if (!src || src.width !== layer.source.width || src.height !== layer.source.height) continue;
      const g = layerGeometry(layer, W, H);
      if (g) draws.push({ pin: layer.pin, g, src: this.ingest(src) });
    }
    // Made after ingest and maps, which may grow the memory.
    const maps = draws.map(({ pin, g, src }) =>
      g.kind === LayerKind.axis ? this.axisMaps(pin, g, nearest, src.width * 4) : undefined,
    );
    const cmds = new Float64Array(this.memory.buffer, this.cmdPtr, this.cmdCapacity * CMD_SLOTS);
    let count = 0;
    const put = (...args: number[]) => {
      cmds.set(args, count * CMD_SLOTS);
      count++;
    };
    const out = this.outPtr;
    const first = draws[0];
    if (!(first && coversOpaquely(first.g, first.src.opaque, W, H)))
      put(Op.fill, out, W, premultiplied(job.background) | 0);

    draws.forEach(({ g, src }, i) => {
      const k = Math.round(g.opacity * K_ONE);
      const stride = src.width * 4;
      if (g.kind === LayerKind.copy) {
        const dx = Math.round(g.sx0 - 0.5);
        const dy = Math.round(g.sy0 - 0.5);
        put(
          Op.copy,
          out + (g.y0 * W + g.x0) * 4,
          W * 4,
          src.ptr + ((g.y0 + dy) * src.width + g.x0 + dx) * 4,
          stride,
          g.x1 - g.x0,
          g.y0,
          g.y1 - g.y0,
          k,
          src.opaque ? 1 : 0,
        );
      } else if (g.kind === LayerKind.axis) {
        const m = maps[i]!;
        if (nearest)
          put(Op.axisNearest, out, W * 4, g.x0, g.x1, g.y0, g.y1, src.ptr, m.colOff, m.rowOff0, k);
        else
          put(
            Op.axisBilinear,
            out,
            W * 4,
            g.x0,
            g.x1,
            g.y0,
            g.y1,
            src.ptr,
            m.colOff,
            m.colFrac,
            m.rowOff0,
            m.rowOff1,
            m.rowFrac,
            k,
          );
      } else {
        put(
          Op.affine,
          out,
          W,
          g.x0,
          g.y0,
          g.x1,
          g.y1,
          src.ptr,
          src.width,
          src.height,
          g.ax,
          g.bx,
          g.cx,
          g.ay,
          g.by,
          g.cy,
          g.sxx,
          g.sxy,
          g.sx0,
          g.syx,
          g.syy,
          g.sy0,
          g.dw,
          g.dh,
          g.circle ? 1 : 0,
          g.opacity,
          nearest ? 1 : 0,
        );
      }
    });
    if (job.background.a < 255) put(Op.unpremultiply, out, W);
    return count;
  }

  /** Copies a new frame into its slot (once) and premultiplies it there. */
  private ingest(src: WasmSource): WasmSource {
    if (!src.dirty) return src;
    const bytes = src.width * src.height * 4;
    if (src.capacity < bytes + PAD) {
      if (src.capacity) this.arena.release(src.ptr);
      src.ptr = this.arena.alloc(bytes + PAD);
      src.capacity = bytes + PAD;
    }
    this.view(src.ptr, bytes).set(src.data.subarray(0, bytes));
    src.opaque = this.ex.premultiply(src.ptr, src.width * src.height) === 1;
    src.dirty = false;
    return src;
  }

  private axisMaps(pin: string, g: LayerGeometry, nearest: boolean, stride: number): WasmMaps {
    const key = `${nearest}|${g.x0}|${g.x1}|${g.y0}|${g.y1}|${g.sxx}|${g.sx0}|${g.syy}|${g.sy0}|${g.srcW}|${g.srcH}`;
    const cached = this.maps.get(pin);
    if (cached && cached.key === key) return cached;
    this.dropMaps(pin);
    const nc = g.x1 - g.x0;
    const nr = g.y1 - g.y0;
    // Column tables are read 4 entries at a time: pad them to a whole group.
    const cols = axisMap(g.x0, nc, g.sxx, g.sx0, g.srcW, nearest, 4);
    const rows = axisMap(g.y0, nr, g.syy, g.sy0, g.srcH, nearest);
    const colInts = nc + 4;
    const ptr = this.arena.alloc((2 * colInts + 3 * nr) * 4);
    const maps: WasmMaps = {
      key,
      ptr,
      colOff: ptr,
      colFrac: ptr + colInts * 4,
      rowOff0: ptr + colInts * 8,
      rowOff1: ptr + colInts * 8 + nr * 4,
      rowFrac: ptr + colInts * 8 + nr * 8,
    };
    const ints = new Int32Array(this.memory.buffer, ptr, 2 * colInts + 3 * nr);
    for (let i = 0; i < colInts; i++) {
      ints[i] = cols.tap0[i]! * 4;
      ints[colInts + i] = cols.frac[i]! >> 1;
    }
    for (let i = 0; i < nr; i++) {
      ints[2 * colInts + i] = rows.tap0[i]! * stride;
      ints[2 * colInts + nr + i] = rows.tap1[i]! * stride;
      ints[2 * colInts + 2 * nr + i] = rows.frac[i]! >> 1;
    }
    this.maps.set(pin, maps);
    return maps;
  }

  private dropMaps(pin: string): void {
    const maps = this.maps.get(pin);
    if (maps) this.arena.release(maps.ptr);
    this.maps.delete(pin);
  }

  private view(ptr: number, bytes: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, bytes);
  }
}
