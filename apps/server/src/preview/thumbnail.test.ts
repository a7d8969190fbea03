import { crc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { VideoPacket } from '@patchbay/engine';
import { encodePng, thumbnail } from './thumbnail';

function rgbaFrame(width: number, height: number, fill: (x: number, y: number) => number[]) {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([...fill(x, y), 255], (y * width + x) * 4);
  return { type: 'video', width, height, data, ptsUs: 0 } satisfies VideoPacket;
}

/** Reads back a PNG written by encodePng, checking every chunk's CRC with zlib's. */
function decodePng(png: Uint8Array) {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let offset = 8;
  const chunks: Record<string, Uint8Array> = {};
  while (offset < png.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    const body = png.subarray(offset + 8, offset + 8 + length);
    expect(view.getUint32(offset + 8 + length), `${type} CRC`).toBe(
      crc32(png.subarray(offset + 4, offset + 8 + length)),
    );
    chunks[type] = body;
    offset += 12 + length;
  }
  const ihdr = new DataView(chunks.IHDR!.buffer, chunks.IHDR!.byteOffset);
  const width = ihdr.getUint32(0);
  const height = ihdr.getUint32(4);
  const raw = inflateSync(chunks.IDAT!);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 3 + 1)], 'filter type none').toBe(0);
    rgb.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  }
  expect(Object.keys(chunks)).toEqual(['IHDR', 'IDAT', 'IEND']);
  return { width, height, rgb };
}

describe('compositor preview images', () => {
  it('scale a 720p RGBA frame to 480 px wide, keeping colours and the aspect ratio', () => {
    const frame = rgbaFrame(1280, 720, (x) => (x < 640 ? [200, 30, 90] : [10, 220, 40]));
    const image = thumbnail(frame)!;
    expect([image.width, image.height]).toEqual([480, 270]);
    expect([...image.rgb.subarray(0, 3)]).toEqual([200, 30, 90]);
    expect([...image.rgb.subarray((480 - 1) * 3, 480 * 3)]).toEqual([10, 220, 40]);
  });

  it('read I420 frames with the BT.601 limited-range matrix', () => {
    const [W, H] = [64, 36];
    const data = new Uint8Array(W * H * 1.5);
    // Pure red in BT.601 limited range: Y 82, U 90, V 240.
    data.fill(82, 0, W * H);
    data.fill(90, W * H, W * H * 1.25);
    data.fill(240, W * H * 1.25);
    const image = thumbnail({
      type: 'video',
      width: W,
      height: H,
      format: 'i420',
      data,
      ptsUs: 0,
    })!;
    expect([image.width, image.height]).toEqual([64, 36]);
    const [r, g, b] = [...image.rgb.subarray(0, 3)];
    expect(r).toBeGreaterThanOrEqual(250);
    expect(g).toBeLessThanOrEqual(3);
    expect(b).toBeLessThanOrEqual(3);
  });

  it('refuse frames whose bytes do not match their size', () => {
    expect(
      thumbnail({ type: 'video', width: 4, height: 4, data: new Uint8Array(10), ptsUs: 0 }),
    ).toBeUndefined();
    expect(
      thumbnail({
        type: 'video',
        width: 3,
        height: 4,
        format: 'i420',
        data: new Uint8Array(99),
        ptsUs: 0,
      }),
    ).toBeUndefined();
  });

  it('encode as a valid PNG that decodes to the same pixels', () => {
    const frame = rgbaFrame(40, 30, (x, y) => [x * 6, y * 8, (x + y) % 256]);
    const image = thumbnail(frame)!;
    const decoded = decodePng(encodePng(image));
    expect([decoded.width, decoded.height]).toEqual([40, 30]);
    expect(decoded.rgb).toEqual(image.rgb);
  });
});
