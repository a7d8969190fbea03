import { describe, expect, it } from 'vitest';
import { I420Converter } from './i420-converter';

/** BT.601 limited range, as libvpx expects: the reference the converter must match. */
function bt601(r: number, g: number, b: number): [number, number, number] {
  return [
    16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255,
    128 + (-37.797 * r - 74.203 * g + 112 * b) / 255,
    128 + (112 * r - 93.786 * g - 18.214 * b) / 255,
  ];
}

describe('I420Converter', () => {
  it('converts RGBA to planar 4:2:0 within ±2 of BT.601, leaving the input untouched', () => {
    const width = 64;
    const height = 32;
    const colours: Array<[number, number, number]> = [
      [191, 191, 191],
      [191, 191, 0],
      [0, 191, 191],
      [191, 0, 0],
      [0, 0, 191],
      [32, 32, 32],
      [255, 255, 255],
      [0, 0, 0],
    ];
    // One colour per 8-pixel column stripe, so every 2×2 chroma block is a single colour.
    const rgba = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const c = colours[Math.floor(x / 8)]!;
        rgba.set([...c, 255], (y * width + x) * 4);
      }
    const before = rgba.slice();
    const out = new I420Converter(width, height).convert(rgba);
    expect(out).toHaveLength((width * height * 3) / 2);
    expect(rgba).toEqual(before);
    const uOffset = width * height;
    const vOffset = uOffset + (width * height) / 4;
    for (let x = 0; x < width; x += 2) {
      const [r, g, b] = colours[Math.floor(x / 8)]!;
      const [y, u, v] = bt601(r, g, b);
      for (const row of [0, height - 1])
        expect(Math.abs(out[row * width + x]! - y)).toBeLessThanOrEqual(2);
      expect(Math.abs(out[uOffset + x / 2]! - u)).toBeLessThanOrEqual(2);
      expect(Math.abs(out[vOffset + x / 2]! - v)).toBeLessThanOrEqual(2);
    }
  });

  it('every call returns a new buffer (outputs are handed on and must not change)', () => {
    const conv = new I420Converter(16, 16);
    const a = conv.convert(new Uint8Array(16 * 16 * 4).fill(255));
    const b = conv.convert(new Uint8Array(16 * 16 * 4));
    expect(a.buffer).not.toBe(b.buffer);
    expect(a[0]).toBeGreaterThan(200);
    expect(b[0]).toBeLessThan(20);
  });

  it('rejects odd sizes and frames of the wrong length', () => {
    expect(() => new I420Converter(15, 16)).toThrow(RangeError);
    expect(() => new I420Converter(16, 16).convert(new Uint8Array(10))).toThrow(RangeError);
  });
});
