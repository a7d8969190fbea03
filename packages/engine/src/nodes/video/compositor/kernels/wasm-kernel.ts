import { decodeBase64 } from './base64';
import { COMPOSITOR_WASM_BASE64 } from './generated/compositor-wasm';
import { axisMap, LayerKind, layerGeometry } from './geometry';
import type { LayerGeometry } from './geometry';
import { coversOpaquely, premultiplied } from './ts-kernel';
import type { CompositeJob, CompositorKernel } from './types';
import { wasmApi } from './wasm-api';
import type { WasmMemory } from './wasm-api';
import { WasmArena } from './wasm-arena';

/** The exports of assembly/compositor.ts (addresses are byte offsets into `memory`). */
interface KernelExports {
  memory: WasmMemory;
  heapBase(): number;
  premultiply(ptr: number, pixels: number): number;
  fill(ptr: number, pixels: number, rgba: number): void;
  unpremultiply(ptr: number, pixels: number): void;
  copyRows(
    out: number,
    outStride: number,
    src: number,
    srcStride: number,
    width: number,
    rows: number,
    k: number,
    opaque: number,
  ): void;
  axisBilinear(
    out: number,
    outStride: number,
    x0: number,
    x1: number,
    y0: number,
    y1: number,
    src: number,
    colOff: number,
    colFrac: number,
    rowOff0: number,
    rowOff1: number,
    rowFrac: number,
    k: number,
  ): void;
  axisNearest(
    out: number,
    outStride: number,
    x0: number,
    x1: number,
    y0: number,
    y1: number,
    src: number,
    colOff: number,
    rowOff0: number,
    k: number,
  ): void;
  affine(
    out: number,
    outW: number,
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    src: number,
    srcW: number,
    srcH: number,
    ax: number,
    bx: number,
    cx: number,
    ay: number,
    by: number,
    cy: number,
    sxx: number,
    sxy: number,
    sx0: number,
    syx: number,
    syy: number,
    sy0: number,
    dw: number,
    dh: number,
    circle: number,
    opacity: number,
    nearest: number,
  ): void;
}

const EXPORTED_FUNCTIONS = [
  'heapBase',
  'premultiply',
  'fill',
  'unpremultiply',
  'copyRows',
  'axisBilinear',
  'axisNearest',
  'affine',
] as const;

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
  const ex = instance.exports;
  for (const name of EXPORTED_FUNCTIONS) {
    if (typeof ex[name] !== 'function') throw new Error(`compositor kernel lacks export ${name}`);
  }
  return new WasmKernel(ex as unknown as KernelExports);
}

class WasmKernel implements CompositorKernel {
  readonly kind = 'wasm' as const;
  private readonly arena: WasmArena;
  private readonly sources = new Map<string, WasmSource>();
  private readonly maps = new Map<string, WasmMaps>();
  private outPtr = 0;
  private outPixels = -1;
  private out8: Uint8Array = new Uint8Array(0);

  constructor(private readonly ex: KernelExports) {
    this.arena = new WasmArena(ex.memory, ex.heapBase());
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
    // Rebuilt when the memory grew (the old buffer is detached then).
    if (this.out8.buffer !== this.ex.memory.buffer)
      this.out8 = this.view(this.outPtr, Math.max(0, this.outPixels) * 4);
    return this.out8;
  }

  dispose(): void {
    for (const pin of [...this.sources.keys()]) this.deleteSource(pin);
  }

  /** Bytes of WASM memory held for frames, output and maps (for stats). */
  get memoryBytes(): number {
    return this.arena.used;
  }

  composite(job: CompositeJob): void {
    const W = job.width;
    const H = job.height;
    if (this.outPixels !== W * H) {
      if (this.outPixels >= 0) this.arena.release(this.outPtr);
      this.outPtr = this.arena.alloc(W * H * 4 + PAD);
      this.outPixels = W * H;
    }
    const nearest = job.filter === 'nearest';
    const draws: { pin: string; g: LayerGeometry; src: WasmSource }[] = [];
    for (const layer of job.layers) {
      const src = this.sources.get(layer.pin);
      if (!src || src.width !== layer.source.width || src.height !== layer.source.height) continue;
      const g = layerGeometry(layer, W, H);
      if (g) draws.push({ pin: layer.pin, g, src: this.ingest(src) });
    }
    const ex = this.ex;
    const out = this.outPtr;
    const first = draws[0];
    if (!(first && coversOpaquely(first.g, first.src.opaque, W, H)))
      ex.fill(out, W * H, premultiplied(job.background));

    for (const { pin, g, src } of draws) {
      const k = Math.round(g.opacity * K_ONE);
      const stride = src.width * 4;
      if (g.kind === LayerKind.copy) {
        const dx = Math.round(g.sx0 - 0.5);
        const dy = Math.round(g.sy0 - 0.5);
        ex.copyRows(
          out + (g.y0 * W + g.x0) * 4,
          W * 4,
          src.ptr + ((g.y0 + dy) * src.width + g.x0 + dx) * 4,
          stride,
          g.x1 - g.x0,
          g.y1 - g.y0,
          k,
          src.opaque ? 1 : 0,
        );
      } else if (g.kind === LayerKind.axis) {
        const m = this.axisMaps(pin, g, nearest, stride);
        if (nearest)
          ex.axisNearest(out, W * 4, g.x0, g.x1, g.y0, g.y1, src.ptr, m.colOff, m.rowOff0, k);
        else
          ex.axisBilinear(
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
        ex.affine(
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
    }
    if (job.background.a < 255) ex.unpremultiply(out, W * H);
    this.out8 = this.view(out, W * H * 4);
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
    const ints = new Int32Array(this.ex.memory.buffer, ptr, 2 * colInts + 3 * nr);
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
    return new Uint8Array(this.ex.memory.buffer, ptr, bytes);
  }
}
