import { deflateSync } from 'node:zlib';
import type { VideoPacket } from '@patchbay/engine';

/** Longest side of a preview image, px: small enough to poll at several frames per second. */
export const PREVIEW_MAX_SIDE = 480;

/** An RGB image, 3 bytes per pixel, rows packed. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/**
 * A raw video frame (RGBA or I420) scaled down by area averaging so its longest side is at
 * most `maxSide`, as RGB. I420 is converted with the BT.601 limited-range matrix the
 * compositor's conversion uses. Returns undefined for a frame whose bytes do not match its size.
 */
export function thumbnail(frame: VideoPacket, maxSide = PREVIEW_MAX_SIDE): RgbImage | undefined {
  const { width: W, height: H, data } = frame;
  const i420 = frame.format === 'i420';
  if (W < 1 || H < 1) return undefined;
  if (i420 ? W % 2 !== 0 || H % 2 !== 0 || data.length < W * H * 1.5 : data.length < W * H * 4)
    return undefined;
  const scale = Math.min(1, maxSide / Math.max(W, H));
  const w = Math.max(1, Math.round(W * scale));
  const h = Math.max(1, Math.round(H * scale));
  const rgb = new Uint8Array(w * h * 3);
  const sample = i420 ? i420Sampler(data, W, H) : rgbaSampler(data, W);
  const px = [0, 0, 0];
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor((y * H) / h);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * H) / h));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor((x * W) / w);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * W) / w));
      let r = 0;
      let g = 0;
      let b = 0;
      // At most 2×2 samples per output pixel: enough to avoid shimmering, cheap at any size.
      const sy = Math.max(1, (y1 - y0) >> 1);
      const sx = Math.max(1, (x1 - x0) >> 1);
      let n = 0;
      for (let yy = y0; yy < y1; yy += sy)
        for (let xx = x0; xx < x1; xx += sx) {
          sample(xx, yy, px);
          r += px[0]!;
          g += px[1]!;
          b += px[2]!;
          n++;
        }
      const o = (y * w + x) * 3;
      rgb[o] = Math.round(r / n);
      rgb[o + 1] = Math.round(g / n);
      rgb[o + 2] = Math.round(b / n);
    }
  }
  return { width: w, height: h, rgb };
}

type Sampler = (x: number, y: number, out: number[]) => void;

function rgbaSampler(data: Uint8Array, W: number): Sampler {
  return (x, y, out) => {
    const i = (y * W + x) * 4;
    out[0] = data[i]!;
    out[1] = data[i + 1]!;
    out[2] = data[i + 2]!;
  };
}

function i420Sampler(data: Uint8Array, W: number, H: number): Sampler {
  const u0 = W * H;
  const v0 = u0 + (W / 2) * (H / 2);
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
  return (x, y, out) => {
    const c = (y >> 1) * (W / 2) + (x >> 1);
    const Y = 1.164 * (data[y * W + x]! - 16);
    const U = data[u0 + c]! - 128;
    const V = data[v0 + c]! - 128;
    out[0] = clamp(Y + 1.596 * V);
    out[1] = clamp(Y - 0.392 * U - 0.813 * V);
    out[2] = clamp(Y + 2.017 * U);
  };
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Encodes an RGB image as PNG (8-bit truecolour, no filter, fast deflate). */
export function encodePng(image: RgbImage): Uint8Array {
  const { width, height, rgb } = image;
  const stride = width * 3;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++)
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8);
  const parts = [
    PNG_SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 1 })),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
