// The compositor's pixel kernels, compiled to WebAssembly SIMD by scripts/build-kernel.mjs.
//
// Pixels are RGBA8 in linear memory (little-endian: R is the low byte of an i32). Sources and
// the output are premultiplied while compositing; the host premultiplies sources on ingest
// (`premultiply`) and straightens the output (`unpremultiply`) only when the background is not
// opaque, because an opaque background keeps every output alpha at 255.
//
// The host owns the memory layout (its arena allocator hands out the addresses passed here):
// this module allocates nothing. Buffers the kernels read in 16- or 8-byte groups carry 16
// bytes of padding, so a group that runs past a row (or the buffer) reads harmless bytes; its
// extra lanes carry weight 0 and are never stored (`Px.store4`): past a row's end are the next
// row's first pixels, which the two-thread kernel may be drawing on the other thread at that
// moment (a band starts there), and writing back what was read would undo its writes.
//
// Fixed point: interpolation weights are Q15 (0..32767 = 0..1) through `q15mulr_sat_s`, which
// rounds; layer weights k are 0..256 (256 = 1) through 16-bit multiplies whose products stay
// below 2^16. Values stay below 256, so no lane overflows.
// The geometry maths mirrors kernels/geometry.ts and kernels/ts-kernel.ts; keep them in step.

/** Full layer weight. */
const K_ONE: i32 = 256;
/** Row spans reach this far (px) past a layer's edges: coverage ends at ½ px; the rest is slack. */
const SPAN_SLACK: f64 = 1;

/** First free byte after the module's static data: where the host's arena starts. */
export function heapBase(): usize {
  return __heap_base;
}

// Helpers the compiler inlines into the kernels (static methods: `@inline` on a class member
// keeps the file valid TypeScript for editors and formatters).
class Px {
  /** round(c·a / 255), exactly. */
  @inline static premul1(c: u32, a: u32): u32 {
    const t = c * a + 128;
    return (t + (t >>> 8)) >>> 8;
  }

  /** round(c·255 / a), clamped. */
  @inline static unpremul1(c: u32, a: u32): u32 {
    const v = (c * 255 + (a >>> 1)) / a;
    return v > 255 ? 255 : v;
  }

  /**
   * Premultiplied "over" of two pixels held as i16x8 (4 channels each) with per-pixel weight
   * k (0..256, broadcast over the pixel's lanes): d' = s·k + d·(1 − alpha(s·k)). Products stay
   * below 2^16, so plain 16-bit multiplies (read as unsigned) are exact.
   */
  @inline static blend2(s: v128, d: v128, k: v128): v128 {
    const c128 = i16x8.splat(128);
    const sk = i16x8.shr_u(i16x8.add(i16x8.mul(s, k), c128), 8);
    return Px.over2(sk, d);
  }

  /** `blend2` at full weight. */
  @inline static over2(s: v128, d: v128): v128 {
    const a = v128.shuffle<i16>(s, s, 3, 3, 3, 3, 7, 7, 7, 7);
    // 1 - a/255 as 256 - a - a/128 (0..256): exact enough that an opaque destination stays 255.
    const inv = i16x8.sub(i16x8.splat(256), i16x8.add(a, i16x8.shr_u(a, 7)));
    return i16x8.add(s, i16x8.shr_u(i16x8.add(i16x8.mul(d, inv), i16x8.splat(128)), 8));
  }

  /**
   * Stores the first `left` pixels of `v` at `dst` (all 4 when `left` >= 4): a group that runs
   * past its row must not write the pixels beyond, which may be another thread's (see the top).
   */
  @inline static store4(dst: usize, v: v128, left: i32): void {
    if (left >= 4) {
      v128.store(dst, v);
    } else if (left == 3) {
      v128.store64_lane(dst, v, 0);
      v128.store32_lane(dst, v, 2, 8);
    } else if (left == 2) {
      v128.store64_lane(dst, v, 0);
    } else {
      v128.store32_lane(dst, v, 0);
    }
  }

  /**
   * Blends 4 premultiplied pixels `s` (u8x16) onto `dst` with per-pixel weights `k` (i32x4,
   * 0..256); stores the first `left` of them.
   */
  @inline static blend4(dst: usize, s: v128, k: v128, left: i32): void {
    const d = v128.load(dst);
    const kn = i16x8.narrow_i32x4_s(k, k);
    const k01 = v128.shuffle<i16>(kn, kn, 0, 0, 0, 0, 1, 1, 1, 1);
    const k23 = v128.shuffle<i16>(kn, kn, 2, 2, 2, 2, 3, 3, 3, 3);
    const lo = Px.blend2(i16x8.extend_low_i8x16_u(s), i16x8.extend_low_i8x16_u(d), k01);
    const hi = Px.blend2(i16x8.extend_high_i8x16_u(s), i16x8.extend_high_i8x16_u(d), k23);
    Px.store4(dst, i8x16.narrow_i16x8_u(lo, hi), left);
  }

  /**
   * Draws 4 pixels with the alpha 0 / 255 fast paths: nothing to do, or a plain store. Stores
   * the first `left` of them (weights past `left` must be 0).
   */
  @inline static put4(dst: usize, s: v128, k: v128, left: i32): void {
    const amask = i32x4.splat(0xff000000);
    const a = v128.and(s, amask);
    if (!v128.any_true(a)) return;
    if (i32x4.all_true(v128.and(i32x4.eq(a, amask), i32x4.eq(k, i32x4.splat(K_ONE))))) {
      Px.store4(dst, s, left);
      return;
    }
    Px.blend4(dst, s, k, left);
  }

  /**
   * `put4` for samples still in i16 form (two pixels per vector), weights already broadcast per
   * pixel: saves the narrow/extend round trip; `full` = weight 256 everywhere. Stores the first
   * `left` pixels (weights past `left` must be 0, so `full` only with `left` = 4).
   */
  @inline static put4h(
    dst: usize,
    s01: v128,
    s23: v128,
    k01: v128,
    k23: v128,
    full: bool,
    left: i32,
  ): void {
    const s = i8x16.narrow_i16x8_u(s01, s23);
    const amask = i32x4.splat(0xff000000);
    const a = v128.and(s, amask);
    if (!v128.any_true(a)) return;
    if (full && i32x4.all_true(i32x4.eq(a, amask))) {
      Px.store4(dst, s, left);
      return;
    }
    const d = v128.load(dst);
    const dl = i16x8.extend_low_i8x16_u(d);
    const dh = i16x8.extend_high_i8x16_u(d);
    if (full) Px.store4(dst, i8x16.narrow_i16x8_u(Px.over2(s01, dl), Px.over2(s23, dh)), left);
    else
      Px.store4(dst, i8x16.narrow_i16x8_u(Px.blend2(s01, dl, k01), Px.blend2(s23, dh, k23)), left);
  }

  /** Weights for a group of 4 pixels of which only the first `left` are real. */
  @inline static tailWeights(k: v128, left: i32): v128 {
    return v128.and(k, i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(left)));
  }

  /**
   * Vertical half of a bilinear sample: taps [0, 1] of row 0 at r0 and of row 1 at r1, blended
   * by wy (Q15, splatted) into [left, right] (i16x8).
   */
  @inline static vlerp(r0: usize, r1: usize, wy: v128): v128 {
    let q = v128.load64_zero(r0);
    q = v128.load64_lane(r1, q, 1);
    const lo = i16x8.extend_low_i8x16_u(q);
    return i16x8.add(lo, i16x8.q15mulr_sat_s(i16x8.sub(i16x8.extend_high_i8x16_u(q), lo), wy));
  }

  /** Horizontal half for two pixels at once: a = [aL, aR], b = [bL, bR] → [a, b] by wx = [wa ×4, wb ×4]. */
  @inline static hlerp(a: v128, b: v128, wx: v128): v128 {
    const left = v128.shuffle<i64>(a, b, 0, 2);
    const right = v128.shuffle<i64>(a, b, 1, 3);
    return i16x8.add(left, i16x8.q15mulr_sat_s(i16x8.sub(right, left), wx));
  }

  /**
   * The pixels of row `py` where an affine layer may have nonzero coverage (affineRowSpan in
   * geometry.ts), packed as start | end << 16.
   */
  @inline static rowSpan(
    x0: i32,
    x1: i32,
    ax: f64,
    lxRow: f64,
    dw: f64,
    ay: f64,
    lyRow: f64,
    dh: f64,
  ): i32 {
    let lo = x0;
    let hi = x1;
    const ua = -SPAN_SLACK - lxRow;
    const ub = dw + SPAN_SLACK - lxRow;
    if (Math.abs(ax) < 1e-12) {
      if (!(ua < 0 && ub > 0)) hi = lo;
    } else {
      let t0 = ua / ax;
      let t1 = ub / ax;
      if (t0 > t1) {
        const t = t0;
        t0 = t1;
        t1 = t;
      }
      lo = max(lo, <i32>Math.floor(t0) - 1);
      hi = min(hi, <i32>Math.ceil(t1) + 1);
    }
    const va = -SPAN_SLACK - lyRow;
    const vb = dh + SPAN_SLACK - lyRow;
    if (Math.abs(ay) < 1e-12) {
      if (!(va < 0 && vb > 0)) hi = lo;
    } else {
      let t0 = va / ay;
      let t1 = vb / ay;
      if (t0 > t1) {
        const t = t0;
        t0 = t1;
        t1 = t;
      }
      lo = max(lo, <i32>Math.floor(t0) - 1);
      hi = min(hi, <i32>Math.ceil(t1) + 1);
    }
    if (hi < lo) hi = lo;
    return lo | (hi << 16);
  }

  /**
   * The part of [xs, xe) where 1.5 <= lx <= dw − 1.5 and likewise ly: full coverage with a pixel
   * to spare for rounding (affineRowInterior in geometry.ts); packed, 0 when empty.
   */
  @inline static rowSpanInner(
    xs: i32,
    xe: i32,
    ax: f64,
    lxRow: f64,
    dw: f64,
    ay: f64,
    lyRow: f64,
    dh: f64,
  ): i32 {
    let lo: f64 = <f64>xs;
    let hi: f64 = <f64>xe;
    if (Math.abs(ax) > 1e-12) {
      let t0 = (1.5 - lxRow) / ax;
      let t1 = (dw - 1.5 - lxRow) / ax;
      if (t0 > t1) {
        const t = t0;
        t0 = t1;
        t1 = t;
      }
      lo = max(lo, Math.ceil(t0));
      hi = min(hi, Math.floor(t1));
    } else if (!(lxRow >= 1.5 && lxRow <= dw - 1.5)) return 0;
    if (Math.abs(ay) > 1e-12) {
      let t0 = (1.5 - lyRow) / ay;
      let t1 = (dh - 1.5 - lyRow) / ay;
      if (t0 > t1) {
        const t = t0;
        t0 = t1;
        t1 = t;
      }
      lo = max(lo, Math.ceil(t0));
      hi = min(hi, Math.floor(t1));
    } else if (!(lyRow >= 1.5 && lyRow <= dh - 1.5)) return 0;
    if (hi <= lo) return 0;
    return (<i32>lo) | ((<i32>hi) << 16);
  }

  /** 16.16 fixed point, rounded as floor(v·65536 + ½) (the TypeScript kernel does the same). */
  @inline static fix(v: f64): i32 {
    return <i32>Math.floor(v * 65536.0 + 0.5);
  }
}

/** Premultiplies `pixels` RGBA8 pixels in place; returns 1 when every pixel is opaque. */
export function premultiply(ptr: usize, pixels: i32): i32 {
  const amask = i32x4.splat(0xff000000);
  const alphaLanes = i16x8(0, 0, 0, -1, 0, 0, 0, -1);
  const c128 = i16x8.splat(128);
  let opaque: i32 = 1;
  let i: i32 = 0;
  for (; i + 4 <= pixels; i += 4) {
    const p = ptr + ((<usize>i) << 2);
    const v = v128.load(p);
    if (i32x4.all_true(i32x4.eq(v128.and(v, amask), amask))) continue;
    opaque = 0;
    const lo = i16x8.extend_low_i8x16_u(v);
    const hi = i16x8.extend_high_i8x16_u(v);
    const al = v128.shuffle<i16>(lo, lo, 3, 3, 3, 3, 7, 7, 7, 7);
    const ah = v128.shuffle<i16>(hi, hi, 3, 3, 3, 3, 7, 7, 7, 7);
    // round(c * a / 255) exactly: t = c*a + 128; (t + (t >> 8)) >> 8, all below 2^16.
    let tl = i16x8.add(i16x8.mul(lo, al), c128);
    tl = i16x8.shr_u(i16x8.add(tl, i16x8.shr_u(tl, 8)), 8);
    let th = i16x8.add(i16x8.mul(hi, ah), c128);
    th = i16x8.shr_u(i16x8.add(th, i16x8.shr_u(th, 8)), 8);
    tl = v128.bitselect(lo, tl, alphaLanes);
    th = v128.bitselect(hi, th, alphaLanes);
    v128.store(p, i8x16.narrow_i16x8_u(tl, th));
  }
  for (; i < pixels; i++) {
    const p = ptr + ((<usize>i) << 2);
    const v = load<u32>(p);
    const a = v >>> 24;
    if (a == 255) continue;
    opaque = 0;
    store<u32>(
      p,
      Px.premul1(v & 255, a) |
        (Px.premul1((v >>> 8) & 255, a) << 8) |
        (Px.premul1((v >>> 16) & 255, a) << 16) |
        (a << 24),
    );
  }
  return opaque;
}

/** Fills `pixels` pixels with one premultiplied colour. */
export function fill(ptr: usize, pixels: i32, rgba: u32): void {
  const v = i32x4.splat(rgba);
  let i: i32 = 0;
  for (; i + 4 <= pixels; i += 4) v128.store(ptr + ((<usize>i) << 2), v);
  for (; i < pixels; i++) store<u32>(ptr + ((<usize>i) << 2), rgba);
}

/** Straightens premultiplied pixels in place (only needed under a translucent background). */
export function unpremultiply(ptr: usize, pixels: i32): void {
  for (let i: i32 = 0; i < pixels; i++) {
    const p = ptr + ((<usize>i) << 2);
    const v = load<u32>(p);
    const a = v >>> 24;
    if (a == 255) continue;
    if (a == 0) {
      store<u32>(p, 0);
      continue;
    }
    store<u32>(
      p,
      Px.unpremul1(v & 255, a) |
        (Px.unpremul1((v >>> 8) & 255, a) << 8) |
        (Px.unpremul1((v >>> 16) & 255, a) << 16) |
        (a << 24),
    );
  }
}

/**
 * The unscaled case: `rows` rows of `width` pixels from `src` onto `out`. An opaque source at
 * full weight is a row copy.
 */
export function copyRows(
  out: usize,
  outStride: i32,
  src: usize,
  srcStride: i32,
  width: i32,
  rows: i32,
  k: i32,
  opaque: i32,
): void {
  if (opaque != 0 && k == K_ONE) {
    for (let r: i32 = 0; r < rows; r++) {
      memory.copy(out + <usize>(r * outStride), src + <usize>(r * srcStride), <usize>(width << 2));
    }
    return;
  }
  const kv = i32x4.splat(k);
  for (let r: i32 = 0; r < rows; r++) {
    const d = out + <usize>(r * outStride);
    const s = src + <usize>(r * srcStride);
    let x: i32 = 0;
    for (; x + 4 <= width; x += 4)
      Px.put4(d + ((<usize>x) << 2), v128.load(s + ((<usize>x) << 2)), kv, 4);
    if (x < width)
      Px.blend4(
        d + ((<usize>x) << 2),
        v128.load(s + ((<usize>x) << 2)),
        Px.tailWeights(kv, width - x),
        width - x,
      );
  }
}

/**
 * An unrotated, scaled layer through precomputed maps (one i32 per entry, padded to groups of 4):
 * `colOff` byte offsets of tap 0 within a row, `colFrac` Q15 weights of tap 1; per row
 * `rowOff0`/`rowOff1` byte offsets of the two source rows and `rowFrac`.
 */
export function axisBilinear(
  out: usize,
  outStride: i32,
  x0: i32,
  x1: i32,
  y0: i32,
  y1: i32,
  src: usize,
  colOff: usize,
  colFrac: usize,
  rowOff0: usize,
  rowOff1: usize,
  rowFrac: usize,
  k: i32,
): void {
  const n = x1 - x0;
  const kv = i32x4.splat(k);
  const kh = i16x8.splat(<i16>k);
  const fullK = k == K_ONE;
  for (let y = y0; y < y1; y++) {
    const r = (<usize>(y - y0)) << 2;
    const s0 = src + <usize>load<i32>(rowOff0 + r);
    const s1 = src + <usize>load<i32>(rowOff1 + r);
    const fy = i16x8.splat(<i16>load<i32>(rowFrac + r));
    const row = out + <usize>(y * outStride) + ((<usize>x0) << 2);
    for (let c: i32 = 0; c < n; c += 4) {
      const co = v128.load(colOff + ((<usize>c) << 2));
      const cf = v128.load(colFrac + ((<usize>c) << 2));
      const fn = i16x8.narrow_i32x4_s(cf, cf);
      const o0 = <usize>i32x4.extract_lane(co, 0);
      const o1 = <usize>i32x4.extract_lane(co, 1);
      const o2 = <usize>i32x4.extract_lane(co, 2);
      const o3 = <usize>i32x4.extract_lane(co, 3);
      const v0 = Px.vlerp(s0 + o0, s1 + o0, fy);
      const v1 = Px.vlerp(s0 + o1, s1 + o1, fy);
      const v2 = Px.vlerp(s0 + o2, s1 + o2, fy);
      const v3 = Px.vlerp(s0 + o3, s1 + o3, fy);
      const s01 = Px.hlerp(v0, v1, v128.shuffle<i16>(fn, fn, 0, 0, 0, 0, 1, 1, 1, 1));
      const s23 = Px.hlerp(v2, v3, v128.shuffle<i16>(fn, fn, 2, 2, 2, 2, 3, 3, 3, 3));
      const dst = row + ((<usize>c) << 2);
      if (c + 4 <= n) Px.put4h(dst, s01, s23, kh, kh, fullK, 4);
      else Px.blend4(dst, i8x16.narrow_i16x8_u(s01, s23), Px.tailWeights(kv, n - c), n - c);
    }
  }
}

/** Nearest-neighbour twin of `axisBilinear` (`rowOff0` and `colOff` only). */
export function axisNearest(
  out: usize,
  outStride: i32,
  x0: i32,
  x1: i32,
  y0: i32,
  y1: i32,
  src: usize,
  colOff: usize,
  rowOff0: usize,
  k: i32,
): void {
  const n = x1 - x0;
  const kv = i32x4.splat(k);
  for (let y = y0; y < y1; y++) {
    const s0 = src + <usize>load<i32>(rowOff0 + ((<usize>(y - y0)) << 2));
    const row = out + <usize>(y * outStride) + ((<usize>x0) << 2);
    for (let c: i32 = 0; c < n; c += 4) {
      const co = v128.load(colOff + ((<usize>c) << 2));
      let s = v128.load32_zero(s0 + <usize>i32x4.extract_lane(co, 0));
      s = v128.load32_lane(s0 + <usize>i32x4.extract_lane(co, 1), s, 1);
      s = v128.load32_lane(s0 + <usize>i32x4.extract_lane(co, 2), s, 2);
      s = v128.load32_lane(s0 + <usize>i32x4.extract_lane(co, 3), s, 3);
      const dst = row + ((<usize>c) << 2);
      if (c + 4 <= n) Px.put4(dst, s, kv, 4);
      else Px.blend4(dst, s, Px.tailWeights(kv, n - c), n - c);
    }
  }
}

/**
 * A rotated and/or circle-masked layer: for each output pixel of its bounding box, the inverse
 * affine map gives layer-local coordinates (for the antialiased edge or circle) and source
 * coordinates (for the sample). Coefficients as in kernels/geometry.ts; `nearest` != 0 picks
 * nearest-neighbour sampling.
 *
 * Coordinates step in 16.16 fixed point from each row's first pixel (as the TypeScript kernel
 * does), because float lanes need min/max and float-to-int conversions that cost several
 * instructions each on x64; the integer forms are single instructions.
 */
export function affine(
  out: usize,
  outW: i32,
  x0: i32,
  y0: i32,
  x1: i32,
  y1: i32,
  src: usize,
  srcW: i32,
  srcH: i32,
  ax: f64,
  bx: f64,
  cx: f64,
  ay: f64,
  by: f64,
  cy: f64,
  sxx: f64,
  sxy: f64,
  sx0: f64,
  syx: f64,
  syy: f64,
  sy0: f64,
  dw: f64,
  dh: f64,
  circle: i32,
  opacity: f64,
  nearest: i32,
): void {
  const k8 = <i32>Math.floor(opacity * <f64>K_ONE + 0.5);
  const dlx = Px.fix(ax);
  const dly = Px.fix(ay);
  const dsx = Px.fix(sxx);
  const dsy = Px.fix(syx);
  const stepLx = i32x4(0, dlx, dlx * 2, dlx * 3);
  const stepLy = i32x4(0, dly, dly * 2, dly * 3);
  const stepSx = i32x4(0, dsx, dsx * 2, dsx * 3);
  const stepSy = i32x4(0, dsy, dsy * 2, dsy * 3);
  const groupLx = i32x4.splat(dlx * 4);
  const groupLy = i32x4.splat(dly * 4);
  const groupSx = i32x4.splat(dsx * 4);
  const groupSy = i32x4.splat(dsy * 4);
  const dwF = i32x4.splat(Px.fix(dw));
  const dhF = i32x4.splat(Px.fix(dh));
  const halfF = i32x4.splat(32768);
  const oneF = i32x4.splat(65536);
  const zeroI = i32x4.splat(0);
  const kv = i32x4.splat(k8);
  const kh = i16x8.splat(<i16>k8);
  const fullK = k8 == K_ONE;
  const iota = i32x4(0, 1, 2, 3);
  // Circle coverage stays in float (it needs a square root); pmin/pmax are single instructions.
  const hw = dw / 2;
  const hh = dh / 2;
  const toPx = f32x4.splat(1.0 / 65536.0);
  const vhw = f32x4.splat(<f32>hw);
  const vhh = f32x4.splat(<f32>hh);
  const vihw = f32x4.splat(<f32>(1 / hw));
  const vihh = f32x4.splat(<f32>(1 / hh));
  const half = f32x4.splat(0.5);
  const one = f32x4.splat(1);
  const two = f32x4.splat(2);
  const zero = f32x4.splat(0);
  const kscale = f32x4.splat(<f32>k8);
  const maxXF = i32x4.splat((srcW - 1) << 16);
  const maxYF = i32x4.splat((srcH - 1) << 16);
  const maxIX = i32x4.splat(srcW - 1);
  const maxIY = i32x4.splat(srcH - 1);
  const lowMask = i32x4.splat(0xffff);
  const stride = i32x4.splat(srcW << 2);
  const base = i32x4.splat(<i32>src);
  // Bilinear taps sit at pixel centres: sample from s − ½.
  const tapShift: f64 = nearest != 0 ? 0 : 0.5;
  for (let py = y0; py < y1; py++) {
    const fpy = <f64>py;
    const lxRow = bx * fpy + cx;
    const lyRow = by * fpy + cy;
    const span = Px.rowSpan(x0, x1, ax, lxRow, dw, ay, lyRow, dh);
    const xs = span & 0xffff;
    const xe = span >>> 16;
    if (xs >= xe) continue;
    const fxs = <f64>xs;
    let lx = i32x4.add(i32x4.splat(Px.fix(ax * fxs + lxRow)), stepLx);
    let ly = i32x4.add(i32x4.splat(Px.fix(ay * fxs + lyRow)), stepLy);
    let sx = i32x4.add(i32x4.splat(Px.fix(sxx * fxs + sxy * fpy + sx0 - tapShift)), stepSx);
    let sy = i32x4.add(i32x4.splat(Px.fix(syx * fxs + syy * fpy + sy0 - tapShift)), stepSy);
    const lanesEnd = i32x4.splat(xe);
    // Pixels whose coverage is certainly full (a pixel inside the edges' half-pixel band) skip
    // the coverage maths.
    const inner = circle != 0 ? 0 : Px.rowSpanInner(xs, xe, ax, lxRow, dw, ay, lyRow, dh);
    const is = inner & 0xffff;
    const ie = inner >>> 16;
    const row = out + <usize>(py * outW) * 4;
    for (let x = xs; x < xe; x += 4) {
      const clx = lx;
      const cly = ly;
      const csx = sx;
      const csy = sy;
      lx = i32x4.add(lx, groupLx);
      ly = i32x4.add(ly, groupLy);
      sx = i32x4.add(sx, groupSx);
      sy = i32x4.add(sy, groupSy);
      let k: v128;
      const interior = x >= is && x + 4 <= ie;
      if (interior) {
        k = kv;
      } else if (circle != 0) {
        // First-order distance to the ellipse: d = f / |∇f|, f = ex² + ey² − 1; coverage ½ − d.
        const ex = f32x4.mul(f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(clx), toPx), vhw), vihw);
        const ey = f32x4.mul(f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(cly), toPx), vhh), vihh);
        const gx = f32x4.mul(ex, vihw);
        const gy = f32x4.mul(ey, vihh);
        const f = f32x4.sub(f32x4.add(f32x4.mul(ex, ex), f32x4.mul(ey, ey)), one);
        const grad = f32x4.mul(two, f32x4.sqrt(f32x4.add(f32x4.mul(gx, gx), f32x4.mul(gy, gy))));
        let m = f32x4.sub(half, f32x4.div(f, grad));
        m = f32x4.pmin(f32x4.pmax(m, zero), one);
        k = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(m, kscale), half));
      } else {
        // Distance to the nearest edge + ½, clamped to [0, 1], times the layer weight.
        let m = i32x4.min_s(
          i32x4.min_s(clx, i32x4.sub(dwF, clx)),
          i32x4.min_s(cly, i32x4.sub(dhF, cly)),
        );
        m = i32x4.max_s(i32x4.min_s(i32x4.add(m, halfF), oneF), zeroI);
        k = i32x4.shr_s(i32x4.add(i32x4.mul(m, kv), halfF), 16);
      }
      if (!interior) {
        k = v128.and(k, i32x4.lt_s(i32x4.add(i32x4.splat(x), iota), lanesEnd));
        if (!v128.any_true(k)) continue;
      }
      const dst = row + ((<usize>x) << 2);
      if (nearest != 0) {
        const ix = i32x4.min_s(i32x4.max_s(i32x4.shr_s(csx, 16), zeroI), maxIX);
        const iy = i32x4.min_s(i32x4.max_s(i32x4.shr_s(csy, 16), zeroI), maxIY);
        const off = i32x4.add(i32x4.add(i32x4.mul(iy, stride), i32x4.shl(ix, 2)), base);
        let s = v128.load32_zero(<usize>i32x4.extract_lane(off, 0));
        s = v128.load32_lane(<usize>i32x4.extract_lane(off, 1), s, 1);
        s = v128.load32_lane(<usize>i32x4.extract_lane(off, 2), s, 2);
        s = v128.load32_lane(<usize>i32x4.extract_lane(off, 3), s, 3);
        Px.put4(dst, s, k, xe - x);
        continue;
      }
      const fx = i32x4.min_s(i32x4.max_s(csx, zeroI), maxXF);
      const fy = i32x4.min_s(i32x4.max_s(csy, zeroI), maxYF);
      const ix = i32x4.shr_s(fx, 16);
      const iy = i32x4.shr_s(fy, 16);
      const wx = i32x4.shr_u(v128.and(fx, lowMask), 1);
      const wy = i32x4.shr_u(v128.and(fy, lowMask), 1);
      const iy1 = i32x4.min_s(i32x4.add(iy, i32x4.splat(1)), maxIY);
      const off0 = i32x4.add(i32x4.add(i32x4.mul(iy, stride), i32x4.shl(ix, 2)), base);
      const off1 = i32x4.add(off0, i32x4.mul(i32x4.sub(iy1, iy), stride));
      const wxn = i16x8.narrow_i32x4_s(wx, wx);
      const wyn = i16x8.narrow_i32x4_s(wy, wy);
      const v0 = Px.vlerp(
        <usize>i32x4.extract_lane(off0, 0),
        <usize>i32x4.extract_lane(off1, 0),
        v128.shuffle<i16>(wyn, wyn, 0, 0, 0, 0, 0, 0, 0, 0),
      );
      const v1 = Px.vlerp(
        <usize>i32x4.extract_lane(off0, 1),
        <usize>i32x4.extract_lane(off1, 1),
        v128.shuffle<i16>(wyn, wyn, 1, 1, 1, 1, 1, 1, 1, 1),
      );
      const v2 = Px.vlerp(
        <usize>i32x4.extract_lane(off0, 2),
        <usize>i32x4.extract_lane(off1, 2),
        v128.shuffle<i16>(wyn, wyn, 2, 2, 2, 2, 2, 2, 2, 2),
      );
      const v3 = Px.vlerp(
        <usize>i32x4.extract_lane(off0, 3),
        <usize>i32x4.extract_lane(off1, 3),
        v128.shuffle<i16>(wyn, wyn, 3, 3, 3, 3, 3, 3, 3, 3),
      );
      const s01 = Px.hlerp(v0, v1, v128.shuffle<i16>(wxn, wxn, 0, 0, 0, 0, 1, 1, 1, 1));
      const s23 = Px.hlerp(v2, v3, v128.shuffle<i16>(wxn, wxn, 2, 2, 2, 2, 3, 3, 3, 3));
      if (interior) {
        Px.put4h(dst, s01, s23, kh, kh, fullK, 4);
      } else {
        const kn = i16x8.narrow_i32x4_s(k, k);
        Px.put4h(
          dst,
          s01,
          s23,
          v128.shuffle<i16>(kn, kn, 0, 0, 0, 0, 1, 1, 1, 1),
          v128.shuffle<i16>(kn, kn, 2, 2, 2, 2, 3, 3, 3, 3),
          false,
          xe - x,
        );
      }
    }
  }
}

// Jobs. The host writes a frame's draw calls into memory as records of CMD_SLOTS f64 (integers
// and addresses stored exactly; addresses stay below 2^31) and calls `run` for a band of output
// rows. The two-thread kernel runs the same records on disjoint bands from two threads. Every
// output pixel depends only on its own row's arguments (row maps are per row; affine rows start
// from their own first pixel), so any split into bands gives the bytes one whole-frame call gives;
// and no kernel writes a byte outside its own rows' pixels (`Px.store4`), so two threads on
// adjacent bands never overwrite each other.

/** Bytes per job record. */
const CMD_BYTES: usize = 256;
/** [op, out, outW, rgba]: fill the band with one premultiplied colour. */
const OP_FILL: i32 = 1;
/** [op, out, outStride, src, srcStride, width, y0, rows, k, opaque]: `copyRows` from row y0. */
const OP_COPY: i32 = 2;
/** [op, out, outStride, x0, x1, y0, y1, src, colOff, colFrac, rowOff0, rowOff1, rowFrac, k]. */
const OP_AXIS_BILINEAR: i32 = 3;
/** [op, out, outStride, x0, x1, y0, y1, src, colOff, rowOff0, k]. */
const OP_AXIS_NEAREST: i32 = 4;
/** [op, out, outW, x0, y0, x1, y1, src, srcW, srcH, ax … sy0 (12), dw, dh, circle, opacity, nearest]. */
const OP_AFFINE: i32 = 5;
/** [op, out, outW]: straighten the band. */
const OP_UNPREMULTIPLY: i32 = 6;

class Arg {
  /** Slot `i` of the record at `p` as an integer. */
  @inline static i(p: usize, i: i32): i32 {
    return <i32>load<f64>(p + ((<usize>i) << 3));
  }

  /** Slot `i` of the record at `p`. */
  @inline static f(p: usize, i: i32): f64 {
    return load<f64>(p + ((<usize>i) << 3));
  }
}

/** Runs `count` job records at `cmds` on output rows [yStart, yEnd). */
export function run(cmds: usize, count: i32, yStart: i32, yEnd: i32): void {
  for (let c: i32 = 0; c < count; c++) {
    const p = cmds + <usize>c * CMD_BYTES;
    const op = Arg.i(p, 0);
    if (op == OP_FILL || op == OP_UNPREMULTIPLY) {
      const outW = Arg.i(p, 2);
      const band = <usize>Arg.i(p, 1) + <usize>(yStart * outW) * 4;
      const pixels = (yEnd - yStart) * outW;
      if (op == OP_FILL) fill(band, pixels, <u32>Arg.i(p, 3));
      else unpremultiply(band, pixels);
    } else if (op == OP_COPY) {
      const outStride = Arg.i(p, 2);
      const srcStride = Arg.i(p, 4);
      const y0 = Arg.i(p, 6);
      const a = max(y0, yStart);
      const b = min(y0 + Arg.i(p, 7), yEnd);
      if (a >= b) continue;
      copyRows(
        <usize>Arg.i(p, 1) + <usize>((a - y0) * outStride),
        outStride,
        <usize>Arg.i(p, 3) + <usize>((a - y0) * srcStride),
        srcStride,
        Arg.i(p, 5),
        b - a,
        Arg.i(p, 8),
        Arg.i(p, 9),
      );
    } else if (op == OP_AXIS_BILINEAR || op == OP_AXIS_NEAREST) {
      const y0 = Arg.i(p, 5);
      const a = max(y0, yStart);
      const b = min(Arg.i(p, 6), yEnd);
      if (a >= b) continue;
      // Row maps are indexed from the layer's first row.
      const skip = (<usize>(a - y0)) << 2;
      if (op == OP_AXIS_BILINEAR)
        axisBilinear(
          <usize>Arg.i(p, 1),
          Arg.i(p, 2),
          Arg.i(p, 3),
          Arg.i(p, 4),
          a,
          b,
          <usize>Arg.i(p, 7),
          <usize>Arg.i(p, 8),
          <usize>Arg.i(p, 9),
          <usize>Arg.i(p, 10) + skip,
          <usize>Arg.i(p, 11) + skip,
          <usize>Arg.i(p, 12) + skip,
          Arg.i(p, 13),
        );
      else
        axisNearest(
          <usize>Arg.i(p, 1),
          Arg.i(p, 2),
          Arg.i(p, 3),
          Arg.i(p, 4),
          a,
          b,
          <usize>Arg.i(p, 7),
          <usize>Arg.i(p, 8),
          <usize>Arg.i(p, 9) + skip,
          Arg.i(p, 10),
        );
    } else if (op == OP_AFFINE) {
      const a = max(Arg.i(p, 4), yStart);
      const b = min(Arg.i(p, 6), yEnd);
      if (a >= b) continue;
      affine(
        <usize>Arg.i(p, 1),
        Arg.i(p, 2),
        Arg.i(p, 3),
        a,
        Arg.i(p, 5),
        b,
        <usize>Arg.i(p, 7),
        Arg.i(p, 8),
        Arg.i(p, 9),
        Arg.f(p, 10),
        Arg.f(p, 11),
        Arg.f(p, 12),
        Arg.f(p, 13),
        Arg.f(p, 14),
        Arg.f(p, 15),
        Arg.f(p, 16),
        Arg.f(p, 17),
        Arg.f(p, 18),
        Arg.f(p, 19),
        Arg.f(p, 20),
        Arg.f(p, 21),
        Arg.f(p, 22),
        Arg.f(p, 23),
        Arg.i(p, 24),
        Arg.f(p, 25),
        Arg.i(p, 26),
      );
    }
  }
}

// RGBA8 → I420 (planar YUV 4:2:0, BT.601 limited range: what video encoders take). Alpha is
// ignored. The Y plane (width × height bytes) comes first, then U and V ((width/2) × (height/2)
// each), with no row padding. Integer maths, the same as kernels/i420.ts (keep them in step):
//   Y = ((66R + 129G + 25B + 128) >> 8) + 16
//   U = ((−38R − 74G + 112B + 128) >> 8) + 128,  V = ((112R − 94G − 18B + 128) >> 8) + 128
// with R, G, B for chroma the rounded mean of the 2×2 block ((sum + 2) >> 2). In 16-bit lanes
// the luma sum stays below 2^16 (read as unsigned) and the chroma sums within ±2^15, so no lane
// overflows. Reads stay inside the rows (16-pixel groups, then pairs), so no padding is needed.
class Yuv {
  /** The R (o = 0), G (1) or B (2) bytes of 8 pixels (two 16-byte groups) as u16 lanes. */
  @inline static chan(a: v128, b: v128, o: u8): v128 {
    const bytes =
      o == 0
        ? v128.shuffle<u8>(a, b, 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0)
        : o == 1
          ? v128.shuffle<u8>(a, b, 1, 5, 9, 13, 17, 21, 25, 29, 0, 0, 0, 0, 0, 0, 0, 0)
          : v128.shuffle<u8>(a, b, 2, 6, 10, 14, 18, 22, 26, 30, 0, 0, 0, 0, 0, 0, 0, 0);
    return i16x8.extend_low_i8x16_u(bytes);
  }

  /** Luma of 8 pixels from their u16 R, G, B lanes. */
  @inline static luma(r: v128, g: v128, b: v128): v128 {
    let s = i16x8.mul(r, i16x8.splat(66));
    s = i16x8.add(s, i16x8.mul(g, i16x8.splat(129)));
    s = i16x8.add(s, i16x8.mul(b, i16x8.splat(25)));
    s = i16x8.add(s, i16x8.splat(128));
    return i16x8.add(i16x8.shr_u(s, 8), i16x8.splat(16));
  }

  /** Means of the 2×2 blocks of 16 pixels on two rows: 8 values in i16 lanes. */
  @inline static mean(top0: v128, top1: v128, bot0: v128, bot1: v128): v128 {
    const two = i32x4.splat(2);
    const m0 = i32x4.shr_u(i32x4.add(i32x4.extadd_pairwise_i16x8_u(i16x8.add(top0, bot0)), two), 2);
    const m1 = i32x4.shr_u(i32x4.add(i32x4.extadd_pairwise_i16x8_u(i16x8.add(top1, bot1)), two), 2);
    return i16x8.narrow_i32x4_s(m0, m1);
  }

  /** ((cr·R + cg·G + cb·B + 128) >> 8) + 128 on i16 lanes. */
  @inline static chroma(r: v128, g: v128, b: v128, cr: i16, cg: i16, cb: i16): v128 {
    let s = i16x8.mul(r, i16x8.splat(cr));
    s = i16x8.add(s, i16x8.mul(g, i16x8.splat(cg)));
    s = i16x8.add(s, i16x8.mul(b, i16x8.splat(cb)));
    s = i16x8.add(s, i16x8.splat(128));
    return i16x8.add(i16x8.shr_s(s, 8), i16x8.splat(128));
  }

  @inline static lumaAt(p: usize): u8 {
    const r = <i32>load<u8>(p);
    const g = <i32>load<u8>(p, 1);
    const b = <i32>load<u8>(p, 2);
    return <u8>(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
  }

  /** Sum of channel `o` over the 2×2 block whose top-left pixel is at `p`. */
  @inline static sum4(p: usize, stride: usize, o: usize): i32 {
    return (
      <i32>load<u8>(p + o) +
      <i32>load<u8>(p + 4 + o) +
      <i32>load<u8>(p + stride + o) +
      <i32>load<u8>(p + stride + 4 + o)
    );
  }
}

/** Converts the `width` × `height` RGBA8 image at `src` into I420 at `dst` (both even). */
export function rgbaToI420(src: usize, width: i32, height: i32, dst: usize): void {
  const stride = (<usize>width) << 2;
  const cw = width >> 1;
  const uPlane = dst + <usize>(width * height);
  const vPlane = uPlane + <usize>(cw * (height >> 1));
  for (let y: i32 = 0; y + 1 < height; y += 2) {
    const row0 = src + <usize>y * stride;
    const row1 = row0 + stride;
    const y0 = dst + <usize>(y * width);
    const y1 = y0 + <usize>width;
    const u = uPlane + <usize>((y >> 1) * cw);
    const v = vPlane + <usize>((y >> 1) * cw);
    let x: i32 = 0;
    for (; x + 16 <= width; x += 16) {
      const p0 = row0 + ((<usize>x) << 2);
      const p1 = row1 + ((<usize>x) << 2);
      const a0 = v128.load(p0);
      const a1 = v128.load(p0, 16);
      const a2 = v128.load(p0, 32);
      const a3 = v128.load(p0, 48);
      const b0 = v128.load(p1);
      const b1 = v128.load(p1, 16);
      const b2 = v128.load(p1, 32);
      const b3 = v128.load(p1, 48);
      const ra = Yuv.chan(a0, a1, 0);
      const ga = Yuv.chan(a0, a1, 1);
      const ba = Yuv.chan(a0, a1, 2);
      const rb = Yuv.chan(a2, a3, 0);
      const gb = Yuv.chan(a2, a3, 1);
      const bb = Yuv.chan(a2, a3, 2);
      const rc = Yuv.chan(b0, b1, 0);
      const gc = Yuv.chan(b0, b1, 1);
      const bc = Yuv.chan(b0, b1, 2);
      const rd = Yuv.chan(b2, b3, 0);
      const gd = Yuv.chan(b2, b3, 1);
      const bd = Yuv.chan(b2, b3, 2);
      v128.store(y0 + <usize>x, i8x16.narrow_i16x8_u(Yuv.luma(ra, ga, ba), Yuv.luma(rb, gb, bb)));
      v128.store(y1 + <usize>x, i8x16.narrow_i16x8_u(Yuv.luma(rc, gc, bc), Yuv.luma(rd, gd, bd)));
      const r = Yuv.mean(ra, rb, rc, rd);
      const g = Yuv.mean(ga, gb, gc, gd);
      const b = Yuv.mean(ba, bb, bc, bd);
      const cu = Yuv.chroma(r, g, b, -38, -74, 112);
      const cv = Yuv.chroma(r, g, b, 112, -94, -18);
      const uv = i8x16.narrow_i16x8_u(cu, cv);
      store<u64>(u + <usize>(x >> 1), i64x2.extract_lane(uv, 0));
      store<u64>(v + <usize>(x >> 1), i64x2.extract_lane(uv, 1));
    }
    for (; x + 1 < width; x += 2) {
      const p0 = row0 + ((<usize>x) << 2);
      const p1 = row1 + ((<usize>x) << 2);
      store<u8>(y0 + <usize>x, Yuv.lumaAt(p0));
      store<u8>(y0 + <usize>x + 1, Yuv.lumaAt(p0 + 4));
      store<u8>(y1 + <usize>x, Yuv.lumaAt(p1));
      store<u8>(y1 + <usize>x + 1, Yuv.lumaAt(p1 + 4));
      const r = (Yuv.sum4(p0, stride, 0) + 2) >> 2;
      const g = (Yuv.sum4(p0, stride, 1) + 2) >> 2;
      const b = (Yuv.sum4(p0, stride, 2) + 2) >> 2;
      store<u8>(u + <usize>(x >> 1), <u8>(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128));
      store<u8>(v + <usize>(x >> 1), <u8>(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128));
    }
  }
}
