import type { ResolvedLayer } from '../layout';
import { NEAREST_BIAS } from './geometry';
import type { CompositeJob, CompositorKernel } from './types';

interface Source {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * The ground truth: floating point, one generic loop over every output pixel for every layer,
 * written from the definition rather than from the fast kernels' geometry so it can catch their
 * mistakes (it shares only the nearest-sampling tie-break constant). Slow (tests only).
 *
 * Definition: the pixel centre (px+½, py+½) is rotated by -θ about the rect's centre into
 * layer-local coordinates (lx, ly) ∈ [0, w] × [0, h]; coverage is the distance to the nearest
 * edge + ½ clamped to [0, 1] (for a circle, the first-order distance to the inscribed ellipse); the
 * (mirrored) local point maps linearly onto the crop window; bilinear sampling interpolates
 * premultiplied taps (pixel centres at i+½, clamp to edge); layers combine with premultiplied
 * "over" at weight opacity × coverage; the result is straightened at the end.
 */
export function createReferenceKernel(): CompositorKernel {
  const sources = new Map<string, Source>();
  let out: Uint8Array = new Uint8Array(0);
  let size = { width: 0, height: 0 };
  return {
    kind: 'reference',
    threads: 1,
    setSource(pin, width, height, data) {
      sources.set(pin, { width, height, data });
    },
    deleteSource(pin) {
      sources.delete(pin);
    },
    composite(job) {
      out = compositeReference(job, sources);
      size = { width: job.width, height: job.height };
    },
    output: () => out,
    outputI420: () => i420Reference(out, size.width, size.height),
    dispose() {
      sources.clear();
    },
  };
}

function compositeReference(job: CompositeJob, sources: ReadonlyMap<string, Source>): Uint8Array {
  const { width: W, height: H, background: bg } = job;
  const acc = new Float64Array(W * H * 4);
  const bga = bg.a / 255;
  for (let i = 0; i < W * H; i++) {
    acc[i * 4] = bg.r * bga;
    acc[i * 4 + 1] = bg.g * bga;
    acc[i * 4 + 2] = bg.b * bga;
    acc[i * 4 + 3] = bg.a;
  }
  for (const layer of job.layers) {
    const src = sources.get(layer.pin);
    if (!src || src.width !== layer.source.width || src.height !== layer.source.height) continue;
    drawLayer(acc, W, H, layer, src, job.filter === 'nearest');
  }
  const out = new Uint8Array(W * H * 4);
  for (let i = 0; i < W * H; i++) {
    const a = acc[i * 4 + 3]!;
    const scale = a > 0 ? 255 / a : 0;
    for (let c = 0; c < 3; c++) out[i * 4 + c] = clampByte(acc[i * 4 + c]! * scale);
    out[i * 4 + 3] = clampByte(a);
  }
  return out;
}

function drawLayer(
  acc: Float64Array,
  W: number,
  H: number,
  layer: ResolvedLayer,
  src: Source,
  nearest: boolean,
): void {
  const { rect, crop } = layer;
  if (rect.width <= 0 || rect.height <= 0 || crop.width <= 0 || crop.height <= 0) return;
  const theta = (layer.rotation_degrees * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const centreX = rect.x + rect.width / 2;
  const centreY = rect.y + rect.height / 2;
  const sample = new Float64Array(4);
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      const dx = px + 0.5 - centreX;
      const dy = py + 0.5 - centreY;
      const lx = cos * dx + sin * dy + rect.width / 2;
      const ly = -sin * dx + cos * dy + rect.height / 2;
      const coverage =
        layer.crop_shape === 'circle'
          ? ellipseCoverage(lx, ly, rect.width, rect.height)
          : rectCoverage(lx, ly, rect.width, rect.height);
      if (coverage <= 0) continue;
      const u = layer.mirror_horizontal ? rect.width - lx : lx;
      const v = layer.mirror_vertical ? rect.height - ly : ly;
      const sx = crop.x + (u * crop.width) / rect.width;
      const sy = crop.y + (v * crop.height) / rect.height;
      if (nearest) sampleNearest(src, sx, sy, sample);
      else sampleBilinear(src, sx, sy, sample);
      const k = layer.opacity * coverage;
      const keep = 1 - (sample[3]! * k) / 255;
      const o = (py * W + px) * 4;
      for (let c = 0; c < 4; c++) acc[o + c] = sample[c]! * k + acc[o + c]! * keep;
    }
  }
}

function rectCoverage(lx: number, ly: number, w: number, h: number): number {
  return clamp01(Math.min(lx, w - lx, ly, h - ly) + 0.5);
}

/** Signed distance to the inscribed ellipse to first order (f / |∇f| for f = ex² + ey² − 1). */
function ellipseCoverage(lx: number, ly: number, w: number, h: number): number {
  const ex = (lx - w / 2) / (w / 2);
  const ey = (ly - h / 2) / (h / 2);
  const gradient = Math.hypot(ex / (w / 2), ey / (h / 2));
  return clamp01(0.5 - (ex * ex + ey * ey - 1) / (2 * gradient));
}

/** Premultiplied tap (x, y) into `out`. */
function tap(src: Source, x: number, y: number, out: Float64Array, weight: number): void {
  const o = (y * src.width + x) * 4;
  const a = src.data[o + 3]!;
  out[0]! += weight * ((src.data[o]! * a) / 255);
  out[1]! += weight * ((src.data[o + 1]! * a) / 255);
  out[2]! += weight * ((src.data[o + 2]! * a) / 255);
  out[3]! += weight * a;
}

function sampleNearest(src: Source, sx: number, sy: number, out: Float64Array): void {
  out.fill(0);
  const x = clampInt(Math.floor(sx + NEAREST_BIAS), 0, src.width - 1);
  const y = clampInt(Math.floor(sy + NEAREST_BIAS), 0, src.height - 1);
  tap(src, x, y, out, 1);
}

function sampleBilinear(src: Source, sx: number, sy: number, out: Float64Array): void {
  out.fill(0);
  const fx = sx - 0.5;
  const fy = sy - 0.5;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const tx = fx - x0;
  const ty = fy - y0;
  const xa = clampInt(x0, 0, src.width - 1);
  const xb = clampInt(x0 + 1, 0, src.width - 1);
  const ya = clampInt(y0, 0, src.height - 1);
  const yb = clampInt(y0 + 1, 0, src.height - 1);
  tap(src, xa, ya, out, (1 - tx) * (1 - ty));
  tap(src, xb, ya, out, tx * (1 - ty));
  tap(src, xa, yb, out, (1 - tx) * ty);
  tap(src, xb, yb, out, tx * ty);
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function clampInt(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/**
 * BT.601 limited-range RGB → YUV in floating point (the standard's coefficients, rounded once at
 * the end), with chroma from the mean of each 2×2 block: what the kernels' integer conversion
 * approximates.
 */
export function i420Reference(rgba: Uint8Array, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H + 2 * (W / 2) * (H / 2));
  const clamp = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  const px = (x: number, y: number, c: number) => rgba[(y * W + x) * 4 + c]!;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      out[y * W + x] = clamp(
        16 + (65.738 * px(x, y, 0) + 129.057 * px(x, y, 1) + 25.064 * px(x, y, 2)) / 256,
      );
  const cw = W / 2;
  const u0 = W * H;
  const v0 = u0 + cw * (H / 2);
  for (let y = 0; y < H; y += 2)
    for (let x = 0; x < W; x += 2) {
      const mean = (c: number) =>
        (px(x, y, c) + px(x + 1, y, c) + px(x, y + 1, c) + px(x + 1, y + 1, c)) / 4;
      const [r, g, b] = [mean(0), mean(1), mean(2)];
      const i = (y / 2) * cw + x / 2;
      out[u0 + i] = clamp(128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256);
      out[v0 + i] = clamp(128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256);
    }
  return out;
}
