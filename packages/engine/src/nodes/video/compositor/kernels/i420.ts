/**
 * RGBA8 → I420 (planar YUV 4:2:0, BT.601 limited range), in TypeScript: the TypeScript kernel's
 * conversion and the reference the WebAssembly one (`rgbaToI420` in assembly/compositor.ts) is
 * checked against byte for byte. Keep the two in step:
 *   Y = ((66R + 129G + 25B + 128) >> 8) + 16
 *   U = ((−38R − 74G + 112B + 128) >> 8) + 128,  V = ((112R − 94G − 18B + 128) >> 8) + 128
 * with R, G, B for chroma the rounded mean of each 2×2 block. Alpha is ignored.
 */

/** Bytes of an I420 frame of this (even) size. */
export function i420Bytes(width: number, height: number): number {
  return width * height + 2 * (width / 2) * (height / 2);
}

/** Converts `rgba` (width × height × 4 bytes) into `out` (`i420Bytes`); width and height even. */
export function rgbaToI420(rgba: Uint8Array, width: number, height: number, out: Uint8Array): void {
  if (width % 2 !== 0 || height % 2 !== 0)
    throw new RangeError(`I420 needs an even size, not ${width}×${height}`);
  if (rgba.length < width * height * 4 || out.length < i420Bytes(width, height))
    throw new RangeError('I420 conversion: buffer too small');
  const stride = width * 4;
  const cw = width / 2;
  const uPlane = width * height;
  const vPlane = uPlane + cw * (height / 2);
  for (let y = 0; y < height; y += 2) {
    const row0 = y * stride;
    const row1 = row0 + stride;
    const c = uPlane + (y / 2) * cw;
    for (let x = 0; x < width; x += 2) {
      const p0 = row0 + x * 4;
      const p1 = row1 + x * 4;
      out[y * width + x] = luma(rgba, p0);
      out[y * width + x + 1] = luma(rgba, p0 + 4);
      out[(y + 1) * width + x] = luma(rgba, p1);
      out[(y + 1) * width + x + 1] = luma(rgba, p1 + 4);
      const r = (sum4(rgba, p0, p1, 0) + 2) >> 2;
      const g = (sum4(rgba, p0, p1, 1) + 2) >> 2;
      const b = (sum4(rgba, p0, p1, 2) + 2) >> 2;
      out[c + x / 2] = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
      out[vPlane - uPlane + c + x / 2] = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    }
  }
}

function luma(p: Uint8Array, i: number): number {
  return ((66 * p[i]! + 129 * p[i + 1]! + 25 * p[i + 2]! + 128) >> 8) + 16;
}

function sum4(p: Uint8Array, top: number, bottom: number, o: number): number {
  return p[top + o]! + p[top + 4 + o]! + p[bottom + o]! + p[bottom + 4 + o]!;
}
