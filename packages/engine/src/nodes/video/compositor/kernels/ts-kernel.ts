import type { ResolvedLayer } from '../layout';
import type { Rgba } from '../params';
import { affineRowInterior, affineRowSpan, axisMap, LayerKind, layerGeometry } from './geometry';
import type { LayerGeometry } from './geometry';
import { i420Bytes, rgbaToI420 } from './i420';
import type { CompositeJob, CompositorKernel } from './types';

// The pure-TypeScript kernel: the fallback where WebAssembly is unavailable.
//
// What makes it fast (media-notes, "Compositor"): pixels as Int32Array words (Int32, not
// Uint32: V8 turns Uint32 loads above 2^31 into doubles), one small monomorphic function per
// layer kind, precomputed row/column maps for unrotated layers, 16.16 fixed point stepping for
// rotated ones, and alpha 0 / 255 fast paths. Two channels are processed per multiply
// (0x00ff00ff masks, 8-bit weights 0..256); Math.imul keeps products above 2^31 in int32.
//
// Bilinear sampling mixes four taps with weights that sum to the layer weight k (≤ 256), which
// folds the layer weight into the sample. The pixel loops spell this out inline (rather than
// calling a helper) because they are the whole cost of a frame.
//
// Words are little-endian RGBA (R in the low byte), as on every platform Node and browsers run on.
// Sources are premultiplied on first use; the output is premultiplied while compositing and
// straightened at the end only under a translucent background.

const M = 0x00ff00ff;
const HI = ~M; // 0xff00ff00
const ROUND = 0x00800080;

interface TsSource {
  width: number;
  height: number;
  data: Uint8Array;
  /** Premultiplied pixels, made on first use after `setSource`. */
  pixels: Int32Array | null;
  opaque: boolean;
  /** A buffer of ours that `pixels` may live in, reused across frames of one size. */
  owned: Int32Array | null;
}

interface CachedMaps {
  key: string;
  /** Source column of tap 0 (nearest: the tap). */
  col: Int32Array;
  /** Bilinear: tap 0's column << 9 | the weight of tap 1 (0..256); one load per pixel. */
  colPacked: Int32Array;
  /** Word index of the first pixel of source row tap 0 / tap 1, weight of tap 1 (0..256). */
  row: Int32Array;
  row1: Int32Array;
  rowFrac: Int32Array;
}

/** Creates the pure-TypeScript compositor kernel. */
export function createTsKernel(): CompositorKernel {
  return new TsKernel();
}

class TsKernel implements CompositorKernel {
  readonly kind = 'ts' as const;
  readonly threads = 1;
  private readonly sources = new Map<string, TsSource>();
  private readonly maps = new Map<string, CachedMaps>();
  private out32 = new Int32Array(0);
  private out8: Uint8Array = new Uint8Array(0);
  private outWidth = 0;
  private outHeight = 0;
  private i420: Uint8Array = new Uint8Array(0);

  setSource(pin: string, width: number, height: number, data: Uint8Array): void {
    const prev = this.sources.get(pin);
    const owned = prev && prev.width === width && prev.height === height ? prev.owned : null;
    this.sources.set(pin, { width, height, data, pixels: null, opaque: false, owned });
  }

  deleteSource(pin: string): void {
    this.sources.delete(pin);
    this.maps.delete(pin);
  }

  output(): Uint8Array {
    return this.out8;
  }

  outputI420(): Uint8Array {
    const bytes = i420Bytes(this.outWidth, this.outHeight);
    if (this.i420.length !== bytes) this.i420 = new Uint8Array(bytes);
    rgbaToI420(this.out8, this.outWidth, this.outHeight, this.i420);
    return this.i420;
  }

  dispose(): void {
    this.sources.clear();
    this.maps.clear();
  }

  composite(job: CompositeJob): void {
    const W = job.width;
    const H = job.height;
    if (this.out32.length !== W * H) {
      this.out32 = new Int32Array(W * H);
      this.out8 = new Uint8Array(this.out32.buffer);
    }
    this.outWidth = W;
    this.outHeight = H;
    const out = this.out32;
    const nearest = job.filter === 'nearest';
    const draws: { layer: ResolvedLayer; g: LayerGeometry; src: TsSource }[] = [];
    for (const layer of job.layers) {
      const src = this.sources.get(layer.pin);
      if (!src || src.width !== layer.source.width || src.height !== layer.source.height) continue;
      const g = layerGeometry(layer, W, H);
      if (g) draws.push({ layer, g, src: ingest(src) });
    }
    const first = draws[0];
    if (!(first && coversOpaquely(first.g, first.src.opaque, W, H)))
      out.fill(premultiplied(job.background));

    for (const { layer, g, src } of draws) {
      const pixels = src.pixels!;
      const k = Math.round(g.opacity * 256);
      if (g.kind === LayerKind.copy) {
        drawCopy(out, W, pixels, src.width, g, k, src.opaque);
      } else if (g.kind === LayerKind.axis) {
        const maps = this.axisMaps(layer.pin, g, nearest);
        if (nearest) axisNearest(out, W, pixels, g, maps, k);
        else axisBilinear(out, W, pixels, g, maps, k);
      } else if (nearest) {
        affineNearest(out, W, pixels, g, k);
      } else {
        affineBilinear(out, W, pixels, g, k);
      }
    }
    if (job.background.a < 255) unpremultiply(out);
  }

  private axisMaps(pin: string, g: LayerGeometry, nearest: boolean): CachedMaps {
    const key = `${nearest}|${g.x0}|${g.x1}|${g.y0}|${g.y1}|${g.sxx}|${g.sx0}|${g.syy}|${g.sy0}|${g.srcW}|${g.srcH}`;
    const cached = this.maps.get(pin);
    if (cached && cached.key === key) return cached;
    const cols = axisMap(g.x0, g.x1 - g.x0, g.sxx, g.sx0, g.srcW, nearest);
    const rows = axisMap(g.y0, g.y1 - g.y0, g.syy, g.sy0, g.srcH, nearest);
    const maps: CachedMaps = {
      key,
      col: cols.tap0,
      colPacked: cols.tap0.map((t, i) => (t << 9) | ((cols.frac[i]! + 128) >> 8)),
      row: rows.tap0.map((t) => t * g.srcW),
      row1: rows.tap1.map((t) => t * g.srcW),
      rowFrac: rows.frac.map((f) => (f + 128) >> 8),
    };
    this.maps.set(pin, maps);
    return maps;
  }
}

/** True when the layer overwrites every output pixel, so the background fill can be skipped. */
export function coversOpaquely(g: LayerGeometry, opaque: boolean, W: number, H: number): boolean {
  return (
    g.kind !== LayerKind.affine &&
    opaque &&
    g.opacity >= 1 &&
    g.x0 === 0 &&
    g.y0 === 0 &&
    g.x1 === W &&
    g.y1 === H
  );
}

/** The background as a premultiplied little-endian word. */
export function premultiplied(c: Rgba): number {
  const p = (v: number) => Math.round((v * c.a) / 255);
  return p(c.r) | (p(c.g) << 8) | (p(c.b) << 16) | (c.a << 24) | 0;
}

function ingest(src: TsSource): TsSource {
  if (src.pixels) return src;
  const n = src.width * src.height;
  const { data } = src;
  // Word views need 4-byte alignment; an unaligned packet is copied once.
  const words =
    data.byteOffset % 4 === 0
      ? new Int32Array(data.buffer, data.byteOffset, n)
      : new Int32Array(data.slice(0, n * 4).buffer);
  let i = 0;
  while (i < n && words[i]! >>> 24 === 255) i++;
  if (i === n) {
    src.pixels = words;
    src.opaque = true;
    return src;
  }
  const dst = src.owned ?? new Int32Array(n);
  dst.set(words.subarray(0, i));
  for (; i < n; i++) {
    const p = words[i]!;
    const a = p >>> 24;
    if (a === 255) dst[i] = p;
    else if (a === 0) dst[i] = 0;
    else {
      // round(c * a / 255) for two channels at once (t + (t >> 8)) >> 8; green alone.
      const t = Math.imul(p & 0xff00ff, a) + ROUND;
      const rb = ((t + ((t >>> 8) & M)) >>> 8) & M;
      const g = Math.imul((p >>> 8) & 0xff, a) + 128;
      dst[i] = rb | ((((g + (g >>> 8)) >>> 8) & 0xff) << 8) | (a << 24);
    }
  }
  src.owned = dst;
  src.pixels = dst;
  src.opaque = false;
  return src;
}

/** Premultiplied "over" with weight k (0..256): d' = s·k + d·(1 − alpha(s·k)). */
function over(d: number, s: number, k: number): number {
  if (k !== 256) {
    s = (((Math.imul(s & M, k) + ROUND) >>> 8) & M) | ((Math.imul((s >>> 8) & M, k) + ROUND) & HI);
  }
  return overScaled(d, s);
}

/** "over" of an already weighted premultiplied source. */
function overScaled(d: number, s: number): number {
  const a = s >>> 24;
  // 1 − a/255 as 256 − a − a/128 (0..256): exact enough that an opaque destination stays 255.
  const inv = 256 - a - (a >>> 7);
  return (
    (s +
      ((((Math.imul(d & M, inv) + ROUND) >>> 8) & M) |
        ((Math.imul((d >>> 8) & M, inv) + ROUND) & HI))) |
    0
  );
}

function drawCopy(
  out: Int32Array,
  W: number,
  src: Int32Array,
  sw: number,
  g: LayerGeometry,
  k: number,
  opaque: boolean,
): void {
  const dx = Math.round(g.sx0 - 0.5);
  const dy = Math.round(g.sy0 - 0.5);
  const n = g.x1 - g.x0;
  for (let y = g.y0; y < g.y1; y++) {
    const si = (y + dy) * sw + g.x0 + dx;
    const oi = y * W + g.x0;
    if (opaque && k === 256) {
      out.set(src.subarray(si, si + n), oi);
      continue;
    }
    for (let i = 0; i < n; i++) {
      const s = src[si + i]!;
      if (s === 0) continue;
      out[oi + i] = k === 256 && s >>> 24 === 255 ? s : over(out[oi + i]!, s, k);
    }
  }
}

function axisNearest(
  out: Int32Array,
  W: number,
  src: Int32Array,
  g: LayerGeometry,
  maps: CachedMaps,
  k: number,
): void {
  const { col, row } = maps;
  const n = g.x1 - g.x0;
  for (let y = g.y0; y < g.y1; y++) {
    const base = row[y - g.y0]!;
    const oi = y * W + g.x0;
    for (let i = 0; i < n; i++) {
      const s = src[base + col[i]!]!;
      if (s === 0) continue;
      out[oi + i] = k === 256 && s >>> 24 === 255 ? s : over(out[oi + i]!, s, k);
    }
  }
}

function axisBilinear(
  out: Int32Array,
  W: number,
  src: Int32Array,
  g: LayerGeometry,
  maps: CachedMaps,
  k: number,
): void {
  const { colPacked, row, row1, rowFrac } = maps;
  const n = g.x1 - g.x0;
  for (let y = g.y0; y < g.y1; y++) {
    const r = y - g.y0;
    const base0 = row[r]!;
    const base1 = row1[r]!;
    const w1y = (rowFrac[r]! * k + 128) >> 8;
    const w0y = k - w1y;
    const oi = y * W + g.x0;
    for (let i = 0; i < n; i++) {
      const packed = colPacked[i]!;
      const fx = packed & 0x1ff;
      const c0 = packed >> 9;
      // A zero weight needs no second tap (and at the last column there is none).
      const c1 = fx === 0 ? c0 : c0 + 1;
      const p00 = src[base0 + c0]!;
      const p01 = src[base0 + c1]!;
      const p10 = src[base1 + c0]!;
      const p11 = src[base1 + c1]!;
      if ((p00 | p01 | p10 | p11) === 0) continue;
      const w01 = (fx * w0y + 128) >> 8;
      const w11 = (fx * w1y + 128) >> 8;
      const w00 = w0y - w01;
      const w10 = w1y - w11;
      const s =
        (((Math.imul(p00 & M, w00) +
          Math.imul(p01 & M, w01) +
          Math.imul(p10 & M, w10) +
          Math.imul(p11 & M, w11) +
          ROUND) >>>
          8) &
          M) |
        ((Math.imul((p00 >>> 8) & M, w00) +
          Math.imul((p01 >>> 8) & M, w01) +
          Math.imul((p10 >>> 8) & M, w10) +
          Math.imul((p11 >>> 8) & M, w11) +
          ROUND) &
          HI);
      const a = s >>> 24;
      if (a === 255) {
        out[oi + i] = s;
        continue;
      }
      const d = out[oi + i]!;
      const inv = 256 - a - (a >>> 7);
      out[oi + i] =
        (s +
          ((((Math.imul(d & M, inv) + ROUND) >>> 8) & M) |
            ((Math.imul((d >>> 8) & M, inv) + ROUND) & HI))) |
        0;
    }
  }
}

const FIX = 65536;
const HALF = FIX >> 1;

/** 16.16 fixed point, rounded as floor(v·65536 + ½) (as the WASM kernel does). */
function fix(v: number): number {
  return Math.floor(v * FIX + 0.5) | 0;
}

/** Coverage (0..256) at local point (lx, ly) in 16.16: distance to the nearest edge + ½, clamped. */
function rectCoverage(lx: number, ly: number, dwF: number, dhF: number): number {
  let m = lx < dwF - lx ? lx : dwF - lx;
  if (ly < m) m = ly;
  if (dhF - ly < m) m = dhF - ly;
  m += HALF;
  return m <= 0 ? 0 : m >= FIX ? 256 : (m + 128) >> 8;
}

/** Coverage (0..256) of the ellipse inscribed in a dw × dh rect: ½ − first-order distance f / |∇f|. */
function ellipseCoverage(lx: number, ly: number, hw: number, hh: number): number {
  const ex = (lx / FIX - hw) / hw;
  const ey = (ly / FIX - hh) / hh;
  const gx = ex / hw;
  const gy = ey / hh;
  const g2 = 4 * (gx * gx + gy * gy);
  const f = ex * ex + ey * ey - 1;
  // |d| >= ½ decides without a square root.
  if (f * f >= 0.25 * g2) return f > 0 ? 0 : 256;
  const m = 0.5 - f / Math.sqrt(g2);
  return m <= 0 ? 0 : m >= 1 ? 256 : Math.round(m * 256);
}

function affineNearest(
  out: Int32Array,
  W: number,
  src: Int32Array,
  g: LayerGeometry,
  op: number,
): void {
  const sw = g.srcW;
  const maxX = sw - 1;
  const maxY = g.srcH - 1;
  const dwF = fix(g.dw);
  const dhF = fix(g.dh);
  const hw = g.dw / 2;
  const hh = g.dh / 2;
  const circle = g.circle;
  const dlx = fix(g.ax);
  const dly = fix(g.ay);
  const dsx = fix(g.sxx);
  const dsy = fix(g.syx);
  for (let y = g.y0; y < g.y1; y++) {
    const [xs, xe] = affineRowSpan(g, y);
    const [is, ie] = affineRowInterior(g, y, xs, xe);
    let lx = fix(g.ax * xs + g.bx * y + g.cx);
    let ly = fix(g.ay * xs + g.by * y + g.cy);
    let sx = fix(g.sxx * xs + g.sxy * y + g.sx0);
    let sy = fix(g.syx * xs + g.syy * y + g.sy0);
    let oi = y * W + xs;
    for (let x = xs; x < xe; x++, oi++, lx += dlx, ly += dly, sx += dsx, sy += dsy) {
      let k = op;
      if (x < is || x >= ie) {
        const cov = circle ? ellipseCoverage(lx, ly, hw, hh) : rectCoverage(lx, ly, dwF, dhF);
        if (cov === 0) continue;
        if (cov !== 256) k = (cov * op + 128) >> 8;
      }
      let ix = sx >> 16;
      let iy = sy >> 16;
      ix = ix < 0 ? 0 : ix > maxX ? maxX : ix;
      iy = iy < 0 ? 0 : iy > maxY ? maxY : iy;
      const s = src[iy * sw + ix]!;
      if (s === 0) continue;
      out[oi] = k === 256 && s >>> 24 === 255 ? s : over(out[oi]!, s, k);
    }
  }
}

/**
 * Bilinear affine layer. Pixels outside the row's interior compute their coverage; coordinates
 * step in 16.16 from the row's first pixel, as in the WASM kernel.
 */
function affineBilinear(
  out: Int32Array,
  W: number,
  src: Int32Array,
  g: LayerGeometry,
  op: number,
): void {
  const sw = g.srcW;
  const maxX = (sw - 1) * FIX;
  const maxY = (g.srcH - 1) * FIX;
  const dwF = fix(g.dw);
  const dhF = fix(g.dh);
  const hw = g.dw / 2;
  const hh = g.dh / 2;
  const circle = g.circle;
  const dlx = fix(g.ax);
  const dly = fix(g.ay);
  const dsx = fix(g.sxx);
  const dsy = fix(g.syx);
  for (let y = g.y0; y < g.y1; y++) {
    const [xs, xe] = affineRowSpan(g, y);
    const [is, ie] = affineRowInterior(g, y, xs, xe);
    let lx = fix(g.ax * xs + g.bx * y + g.cx);
    let ly = fix(g.ay * xs + g.by * y + g.cy);
    // Taps sit at pixel centres: sample from s − ½.
    let fx = fix(g.sxx * xs + g.sxy * y + g.sx0 - 0.5);
    let fy = fix(g.syx * xs + g.syy * y + g.sy0 - 0.5);
    let oi = y * W + xs;
    for (let x = xs; x < xe; x++, oi++, lx += dlx, ly += dly, fx += dsx, fy += dsy) {
      let k = op;
      if (x < is || x >= ie) {
        const cov = circle ? ellipseCoverage(lx, ly, hw, hh) : rectCoverage(lx, ly, dwF, dhF);
        if (cov === 0) continue;
        if (cov !== 256) k = (cov * op + 128) >> 8;
      }
      const cx = fx < 0 ? 0 : fx > maxX ? maxX : fx;
      const cy = fy < 0 ? 0 : fy > maxY ? maxY : fy;
      const i00 = (cy >> 16) * sw + (cx >> 16);
      // At the last column/row the next tap's weight is 0: read the same tap, never past the end.
      const i01 = cx < maxX ? i00 + 1 : i00;
      const down = cy < maxY ? sw : 0;
      const p00 = src[i00]!;
      const p01 = src[i01]!;
      const p10 = src[i00 + down]!;
      const p11 = src[i01 + down]!;
      if ((p00 | p01 | p10 | p11) === 0) continue;
      const wx = ((cx & 0xffff) + 128) >> 8;
      const w1y = ((((cy & 0xffff) + 128) >> 8) * k + 128) >> 8;
      const w0y = k - w1y;
      const w01 = (wx * w0y + 128) >> 8;
      const w11 = (wx * w1y + 128) >> 8;
      const w00 = w0y - w01;
      const w10 = w1y - w11;
      const s =
        (((Math.imul(p00 & M, w00) +
          Math.imul(p01 & M, w01) +
          Math.imul(p10 & M, w10) +
          Math.imul(p11 & M, w11) +
          ROUND) >>>
          8) &
          M) |
        ((Math.imul((p00 >>> 8) & M, w00) +
          Math.imul((p01 >>> 8) & M, w01) +
          Math.imul((p10 >>> 8) & M, w10) +
          Math.imul((p11 >>> 8) & M, w11) +
          ROUND) &
          HI);
      const a = s >>> 24;
      if (a === 255) {
        out[oi] = s;
        continue;
      }
      const d = out[oi]!;
      const inv = 256 - a - (a >>> 7);
      out[oi] =
        (s +
          ((((Math.imul(d & M, inv) + ROUND) >>> 8) & M) |
            ((Math.imul((d >>> 8) & M, inv) + ROUND) & HI))) |
        0;
    }
  }
}

function unpremultiply(out: Int32Array): void {
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    const a = p >>> 24;
    if (a === 255) continue;
    if (a === 0) {
      out[i] = 0;
      continue;
    }
    const un = (c: number) => Math.min(255, Math.floor((c * 255 + (a >> 1)) / a));
    out[i] = un(p & 255) | (un((p >>> 8) & 255) << 8) | (un((p >>> 16) & 255) << 16) | (a << 24);
  }
}
