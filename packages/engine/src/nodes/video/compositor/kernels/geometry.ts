import type { ResolvedLayer } from '../layout';

/**
 * Per-layer setup shared by the fast kernels (TypeScript and WASM), so both pick the same
 * pixels and the same taps. The reference kernel derives its maths independently on purpose.
 */
export const LayerKind = {
  /** Unscaled, unrotated, unmirrored, integer offset: source rows map 1:1 onto output rows. */
  copy: 0,
  /** Unrotated rect: separable, served by precomputed row and column maps. */
  axis: 1,
  /** Rotated or circle-masked: inverse affine map per output pixel, antialiased edges. */
  affine: 2,
} as const;
export type LayerKind = (typeof LayerKind)[keyof typeof LayerKind];

export interface LayerGeometry {
  kind: LayerKind;
  srcW: number;
  srcH: number;
  /** Output pixels the layer may touch: `x0 <= x < x1`, `y0 <= y < y1` (clipped to the frame). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  opacity: number;
  circle: boolean;
  /** Layer-local coordinates of output pixel (px, py)'s centre: `lx = ax*px + bx*py + cx`, `ly = ay*px + by*py + cy`. */
  ax: number;
  bx: number;
  cx: number;
  ay: number;
  by: number;
  cy: number;
  /** Source coordinates (pixel edges at integers) of the same point: `sx = sxx*px + sxy*py + sx0`, likewise `sy`. */
  sxx: number;
  sxy: number;
  sx0: number;
  syx: number;
  syy: number;
  sy0: number;
  /** Size of the layer rect (local coordinates run over `[0, dw] × [0, dh]`). */
  dw: number;
  dh: number;
}

/** Geometry for a layer on a `width × height` output, or null when it draws nothing. */
export function layerGeometry(
  layer: ResolvedLayer,
  width: number,
  height: number,
): LayerGeometry | null {
  const { rect, crop, source } = layer;
  if (rect.width <= 0 || rect.height <= 0 || crop.width <= 0 || crop.height <= 0) return null;
  if (source.width <= 0 || source.height <= 0 || layer.opacity <= 0) return null;
  const turn = (((layer.rotation_degrees % 360) + 360) % 360) / 360;
  const rotated = turn !== 0;
  const circle = layer.crop_shape === 'circle';
  const theta = turn * 2 * Math.PI;
  // Exact values at quarter turns keep 90°/180° rotations free of drift.
  const c = rotated
    ? turn === 0.5
      ? -1
      : turn === 0.25 || turn === 0.75
        ? 0
        : Math.cos(theta)
    : 1;
  const s = rotated
    ? turn === 0.5
      ? 0
      : turn === 0.25
        ? 1
        : turn === 0.75
          ? -1
          : Math.sin(theta)
    : 0;
  const dw = rect.width;
  const dh = rect.height;
  const ccx = rect.x + dw / 2;
  const ccy = rect.y + dh / 2;
  // Inverse rotation (positive angles are clockwise on a y-down screen) of the pixel centre about the rect centre.
  const ax = c;
  const bx = s;
  const cx = c * (0.5 - ccx) + s * (0.5 - ccy) + dw / 2;
  const ay = -s;
  const by = c;
  const cy = -s * (0.5 - ccx) + c * (0.5 - ccy) + dh / 2;
  const scx = crop.width / dw;
  const scy = crop.height / dh;
  const mh = layer.mirror_horizontal ? -1 : 1;
  const mv = layer.mirror_vertical ? -1 : 1;
  const sxx = mh * ax * scx;
  const sxy = mh * bx * scx;
  const sx0 = crop.x + (layer.mirror_horizontal ? dw - cx : cx) * scx;
  const syx = mv * ay * scy;
  const syy = mv * by * scy;
  const sy0 = crop.y + (layer.mirror_vertical ? dh - cy : cy) * scy;

  let x0: number;
  let y0: number;
  let x1: number;
  let y1: number;
  let kind: LayerKind;
  if (!rotated && !circle) {
    x0 = rect.x;
    y0 = rect.y;
    x1 = rect.x + dw;
    y1 = rect.y + dh;
    const unscaled = crop.width === dw && crop.height === dh;
    const aligned = Number.isInteger(crop.x) && Number.isInteger(crop.y);
    kind =
      unscaled && aligned && !layer.mirror_horizontal && !layer.mirror_vertical
        ? LayerKind.copy
        : LayerKind.axis;
  } else {
    // Bounding box of the rotated rect, one pixel wider for the antialiased edge.
    const hx = (Math.abs(c) * dw + Math.abs(s) * dh) / 2;
    const hy = (Math.abs(s) * dw + Math.abs(c) * dh) / 2;
    x0 = Math.floor(ccx - hx) - 1;
    y0 = Math.floor(ccy - hy) - 1;
    x1 = Math.ceil(ccx + hx) + 1;
    y1 = Math.ceil(ccy + hy) + 1;
    kind = LayerKind.affine;
  }
  // `| 0` keeps these int32 for the JIT: float-typed loop bounds slow the pixel loops down.
  x0 = Math.max(0, x0) | 0;
  y0 = Math.max(0, y0) | 0;
  x1 = Math.min(width, x1) | 0;
  y1 = Math.min(height, y1) | 0;
  if (x0 >= x1 || y0 >= y1) return null;
  return {
    kind,
    srcW: source.width,
    srcH: source.height,
    x0,
    y0,
    x1,
    y1,
    opacity: layer.opacity,
    circle,
    ax,
    bx,
    cx,
    ay,
    by,
    cy,
    sxx,
    sxy,
    sx0,
    syx,
    syy,
    sy0,
    dw,
    dh,
  };
}

/**
 * The pixels of row `py` where an affine layer may have nonzero coverage, as `[start, end)`:
 * where `-1 < lx < dw + 1` and `-1 < ly < dh + 1`, widened by a pixel. Coverage ends half a
 * pixel outside the rect; the slack is harmless (weight 0 there) and absorbs rounding and the
 * ellipse's first-order distance. Mirrored in assembly/compositor.ts.
 */
export function affineRowSpan(g: LayerGeometry, py: number): [number, number] {
  let lo = g.x0;
  let hi = g.x1;
  const lxRow = g.bx * py + g.cx;
  const lyRow = g.by * py + g.cy;
  [lo, hi] = clipInterval(lo, hi, g.ax, lxRow, g.dw);
  [lo, hi] = clipInterval(lo, hi, g.ay, lyRow, g.dh);
  return [lo | 0, Math.max(lo, hi) | 0];
}

const SPAN_SLACK = 1;

/**
 * The part of `[xs, xe)` in row `py` where a rect layer's coverage is certainly full: at least
 * 1.5 px inside every edge (full coverage needs ½ px; the rest absorbs rounding), so kernels skip
 * the coverage maths there. Empty for circles. Mirrored in assembly/compositor.ts.
 */
export function affineRowInterior(
  g: LayerGeometry,
  py: number,
  xs: number,
  xe: number,
): [number, number] {
  if (g.circle) return [xs, xs];
  let lo = xs;
  let hi = xe;
  const lxRow = g.bx * py + g.cx;
  const lyRow = g.by * py + g.cy;
  for (const [slope, base, size] of [
    [g.ax, lxRow, g.dw],
    [g.ay, lyRow, g.dh],
  ] as const) {
    if (Math.abs(slope) > 1e-12) {
      let t0 = (1.5 - base) / slope;
      let t1 = (size - 1.5 - base) / slope;
      if (t0 > t1) [t0, t1] = [t1, t0];
      lo = Math.max(lo, Math.ceil(t0));
      hi = Math.min(hi, Math.floor(t1));
    } else if (!(base >= 1.5 && base <= size - 1.5)) {
      return [xs, xs];
    }
  }
  return hi > lo ? [lo | 0, hi | 0] : [xs, xs];
}

function clipInterval(
  lo: number,
  hi: number,
  slope: number,
  base: number,
  size: number,
): [number, number] {
  const a = -SPAN_SLACK - base;
  const b = size + SPAN_SLACK - base;
  if (Math.abs(slope) < 1e-12) return a < 0 && b > 0 ? [lo, hi] : [lo, lo];
  let t0 = a / slope;
  let t1 = b / slope;
  if (t0 > t1) [t0, t1] = [t1, t0];
  return [Math.max(lo, Math.floor(t0) - 1), Math.min(hi, Math.ceil(t1) + 1)];
}

/**
 * Nearest sampling picks `floor(s + NEAREST_BIAS)`: at rational scales (2/3, 1.5, …) sample
 * points fall exactly on texel edges, where float noise would otherwise pick either texel
 * depending on how `s` was computed. The reference kernel uses the same bias.
 */
export const NEAREST_BIAS = 1e-6;

/**
 * Tap tables for one axis of an axis-aligned layer: for output pixel i (from `start`), source
 * taps `tap0[i]`, `tap1[i]` and the weight of `tap1` as 16-bit fixed point (0..65535).
 * Nearest uses `tap0` only. Edge pixels clamp to the source (clamp-to-edge).
 */
export interface AxisMap {
  tap0: Int32Array;
  tap1: Int32Array;
  frac: Int32Array;
}

/** Builds the map for `count` pixels starting at output coordinate `start`: `s = scale*p + offset`. */
export function axisMap(
  start: number,
  count: number,
  scale: number,
  offset: number,
  size: number,
  nearest: boolean,
  padding = 0,
): AxisMap {
  const tap0 = new Int32Array(count + padding);
  const tap1 = new Int32Array(count + padding);
  const frac = new Int32Array(count + padding);
  for (let i = 0; i < count; i++) {
    const s = scale * (start + i) + offset;
    if (nearest) {
      const t = Math.min(size - 1, Math.max(0, Math.floor(s + NEAREST_BIAS)));
      tap0[i] = t;
      tap1[i] = t;
      continue;
    }
    const f = Math.min(size - 1, Math.max(0, s - 0.5));
    const t = Math.floor(f);
    tap0[i] = t;
    tap1[i] = Math.min(size - 1, t + 1);
    frac[i] = Math.min(65535, Math.floor((f - t) * 65536));
  }
  return { tap0, tap1, frac };
}
