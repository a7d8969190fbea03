import { describe, expect, it } from 'vitest';
import { CompositorParamsSchema } from '../params';
import { resolveLayout } from '../layout';
import { makeFrame } from '../testing/scenes';
import { i420Bytes, rgbaToI420 } from './i420';
import { createReferenceKernel, i420Reference } from './reference-kernel';
import { createTsKernel } from './ts-kernel';
import type { CompositorKernel } from './types';
import { createWasmKernel } from './wasm-kernel';

// Sizes whose widths are and are not multiples of the WebAssembly loop's 16-pixel groups.
const SIZES: [number, number][] = [
  [2, 2],
  [18, 6],
  [34, 10],
  [64, 36],
  [130, 74],
];

function toI420(rgba: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(i420Bytes(w, h));
  rgbaToI420(rgba, w, h, out);
  return out;
}

/** Draws `frame` over the whole output so that the kernel's output is (about) `frame`. */
function drawFull(kernel: CompositorKernel, frame: Uint8Array, w: number, h: number): void {
  const params = CompositorParamsSchema.parse({
    width: w,
    height: h,
    layers: { in_0: { rect: { x: 0, y: 0, width: w, height: h } } },
  });
  kernel.setSource('in_0', w, h, frame);
  const layers = resolveLayout(params, [{ pin: 'in_0', width: w, height: h }]);
  kernel.composite({
    width: w,
    height: h,
    background: params.background,
    layers,
    filter: 'bilinear',
  });
}

describe('RGBA → I420 conversion', () => {
  it('maps primaries to BT.601 limited-range values (the standard table, within 1)', () => {
    const cases: [number[], number[]][] = [
      [
        [255, 255, 255],
        [235, 128, 128],
      ],
      [
        [0, 0, 0],
        [16, 128, 128],
      ],
      [
        [255, 0, 0],
        [82, 90, 240],
      ],
      [
        [0, 255, 0],
        [145, 54, 34],
      ],
      [
        [0, 0, 255],
        [41, 240, 110],
      ],
    ];
    for (const [[r, g, b], yuv] of cases) {
      const rgba = new Uint8Array(4 * 4);
      for (let i = 0; i < 4; i++) rgba.set([r!, g!, b!, 255], i * 4);
      const out = toI420(rgba, 2, 2);
      const got = [out[0]!, out[4]!, out[5]!];
      got.forEach((v, i) =>
        expect(Math.abs(v - yuv[i]!), `rgb ${r},${g},${b}: ${got}`).toBeLessThanOrEqual(1),
      );
      expect(new Set(out.subarray(0, 4)).size, 'one luma for a flat block').toBe(1);
    }
  });

  it('stays within 1 of the floating-point BT.601 conversion', () => {
    for (const [w, h] of SIZES) {
      for (let seed = 1; seed <= 4; seed++) {
        const rgba = makeFrame(w, h, 'opaque', seed);
        const ours = toI420(rgba, w, h);
        const ref = i420Reference(rgba, w, h);
        let worst = 0;
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!));
        expect(worst, `${w}×${h} seed ${seed}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('refuses odd sizes and short buffers', () => {
    expect(() => rgbaToI420(new Uint8Array(3 * 2 * 4), 3, 2, new Uint8Array(100))).toThrow(/even/);
    expect(() => rgbaToI420(new Uint8Array(8), 2, 2, new Uint8Array(6))).toThrow(/too small/);
  });

  it('the WebAssembly, TypeScript and reference kernels convert their output identically', async () => {
    const kernels: [string, CompositorKernel][] = [
      ['wasm', await createWasmKernel()],
      ['ts', createTsKernel()],
      ['reference', createReferenceKernel()],
    ];
    for (const [w, h] of SIZES) {
      for (const [name, kernel] of kernels) {
        drawFull(kernel, makeFrame(w, h, 'opaque', w + h), w, h);
        const expected =
          name === 'reference'
            ? i420Reference(kernel.output(), w, h)
            : toI420(kernel.output(), w, h);
        expect(kernel.outputI420(), `${name} ${w}×${h}`).toEqual(expected);
      }
    }
    for (const [, kernel] of kernels) kernel.dispose();
  });

  it('a WebAssembly kernel converts each new frame (the I420 view follows the output)', async () => {
    const kernel = await createWasmKernel();
    const [w, h] = [48, 16];
    drawFull(kernel, makeFrame(w, h, 'opaque', 1), w, h);
    const first = kernel.outputI420().slice();
    drawFull(kernel, makeFrame(w, h, 'opaque', 2), w, h);
    const second = kernel.outputI420();
    expect(second).not.toEqual(first);
    expect(second).toEqual(toI420(kernel.output(), w, h));
    kernel.dispose();
  });
});
