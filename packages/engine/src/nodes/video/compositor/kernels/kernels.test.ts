import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLayout } from '../layout';
import type { ResolvedLayer } from '../layout';
import { CompositorParamsSchema } from '../params';
import type { Rgba } from '../params';
import { diffFrames, makeFrame, randomScene, render } from '../testing/scenes';
import type { Scene } from '../testing/scenes';
import { decodeBase64 } from './base64';
import { createKernel } from './create-kernel';
import { createReferenceKernel } from './reference-kernel';
import { createTsKernel } from './ts-kernel';
import type { CompositorKernel, Filter } from './types';
import { createWasmKernel } from './wasm-kernel';

// One contract suite, run against every fast kernel: each must agree with the float reference.
// Scenes are seeded; a failure names its seed (rerun a single scene with randomScene(seed, …)).

const SEEDS = 60;
const OPAQUE: Rgba = { r: 20, g: 40, b: 60, a: 255 };

function scene(
  width: number,
  height: number,
  layers: Record<string, unknown>,
  sources: Record<string, [number, number, Uint8Array]>,
  filter: Filter = 'bilinear',
  background: Rgba = OPAQUE,
): Scene {
  const params = CompositorParamsSchema.parse({ width, height, background, layers });
  const inputs = Object.entries(sources).map(([pin, [w, h, data]]) => ({
    pin,
    width: w,
    height: h,
    data,
  }));
  const resolved: ResolvedLayer[] = resolveLayout(params, inputs);
  return { params, inputs, job: { width, height, background, layers: resolved, filter } };
}

function solid(width: number, height: number, rgba: [number, number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set(rgba, i);
  return data;
}

/** The source's pixel (x, y). */
function px(data: Uint8Array, width: number, x: number, y: number): number[] {
  return [...data.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)];
}

describe('reference kernel (ground truth)', () => {
  it('rotates clockwise on screen: at 90° the source top-left lands top-right', () => {
    const src = solid(4, 4, [0, 0, 255, 255]);
    src.set([255, 0, 0, 255], 0);
    const s = scene(
      4,
      4,
      { in_0: { rect: { x: 0, y: 0, width: 4, height: 4 }, rotation_degrees: 90 } },
      { in_0: [4, 4, src] },
      'nearest',
    );
    const out = render(createReferenceKernel(), s);
    expect(px(out, 4, 3, 0)).toEqual([255, 0, 0, 255]);
    expect(px(out, 4, 0, 0)).toEqual([0, 0, 255, 255]);
  });

  it('blends straight-alpha sources over the background', () => {
    const s = scene(
      2,
      1,
      { in_0: {} },
      { in_0: [2, 1, solid(2, 1, [255, 255, 255, 128])] },
      'nearest',
      { r: 0, g: 0, b: 0, a: 255 },
    );
    expect(px(render(createReferenceKernel(), s), 2, 0, 0)).toEqual([128, 128, 128, 255]);
  });
});

const implementations: [string, () => Promise<CompositorKernel>][] = [
  ['ts', async () => createTsKernel()],
  ['wasm', createWasmKernel],
];

describe.each(implementations)('%s kernel', (_name, make) => {
  let kernel: CompositorKernel;
  beforeAll(async () => {
    kernel = await make();
  });

  it.each(['bilinear', 'nearest'] as const)(
    'agrees with the reference on random scenes (%s, opaque background)',
    (filter) => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const s = randomScene(seed, filter);
        const d = diffFrames(render(createReferenceKernel(), s), render(kernel, s));
        const where = `seed ${seed} (${filter}): ${JSON.stringify(d)}`;
        expect(d.mean, where).toBeLessThanOrEqual(1);
        // Bilinear is bounded everywhere; nearest may pick the neighbouring texel where a sample
        // point sits within rounding of a texel edge, so only the share of large errors is bounded.
        if (filter === 'bilinear') expect(d.max, where).toBeLessThanOrEqual(12);
        else expect(d.over8, where).toBeLessThanOrEqual(0.02);
      }
    },
  );

  it('agrees with the reference under a translucent background (compared premultiplied)', () => {
    for (let seed = 1000; seed < 1000 + SEEDS / 2; seed++) {
      const s = randomScene(seed, 'bilinear', { translucentBackground: true });
      const d = diffFrames(render(createReferenceKernel(), s), render(kernel, s), true);
      const where = `seed ${seed}: ${JSON.stringify(d)}`;
      expect(d.mean, where).toBeLessThanOrEqual(1);
      expect(d.max, where).toBeLessThanOrEqual(12);
    }
  });

  it.each(['bilinear', 'nearest'] as const)(
    'a single opaque layer at identity scale reproduces the source exactly (%s)',
    (filter) => {
      const src = makeFrame(37, 23, 'opaque', 7);
      const s = scene(37, 23, { in_0: {} }, { in_0: [37, 23, src] }, filter);
      expect(render(kernel, s)).toEqual(src);
    },
  );

  it.each(['bilinear', 'nearest'] as const)(
    'an unscaled layer at an offset is exact, and the background around it too (%s)',
    (filter) => {
      const src = makeFrame(10, 6, 'opaque', 3);
      const s = scene(
        30,
        20,
        { in_0: { rect: { x: 7, y: 5, width: 10, height: 6 } } },
        { in_0: [10, 6, src] },
        filter,
      );
      const out = render(kernel, s);
      expect(out).toEqual(render(createReferenceKernel(), s));
      expect(px(out, 30, 7, 5)).toEqual(px(src, 10, 0, 0));
      expect(px(out, 30, 0, 0)).toEqual([20, 40, 60, 255]);
    },
  );

  it('mirrors and 180° rotation of an unscaled layer are exact', () => {
    const src = makeFrame(16, 9, 'opaque', 5);
    for (const layer of [
      { mirror_horizontal: true },
      { mirror_vertical: true },
      { rotation_degrees: 180 },
      { rotation_degrees: -180, mirror_horizontal: true, mirror_vertical: true },
    ]) {
      const s = scene(16, 9, { in_0: layer }, { in_0: [16, 9, src] });
      expect(render(kernel, s), JSON.stringify(layer)).toEqual(render(createReferenceKernel(), s));
    }
  });

  it('a transparent source or a zero-opacity layer leaves the background untouched', () => {
    const s1 = scene(8, 8, { in_0: {} }, { in_0: [8, 8, solid(8, 8, [255, 0, 0, 0])] });
    const s2 = scene(
      8,
      8,
      { in_0: { opacity: 0 } },
      { in_0: [8, 8, solid(8, 8, [255, 0, 0, 255])] },
    );
    expect(render(kernel, s1)).toEqual(solid(8, 8, [20, 40, 60, 255]));
    expect(render(kernel, s2)).toEqual(solid(8, 8, [20, 40, 60, 255]));
  });

  it('keeps straight alpha in the output under a transparent background', () => {
    const s = scene(
      4,
      4,
      { in_0: { opacity: 0.5 } },
      { in_0: [4, 4, solid(4, 4, [200, 100, 50, 255])] },
      'bilinear',
      { r: 0, g: 0, b: 0, a: 0 },
    );
    const [r, g, b, a] = px(render(kernel, s), 4, 1, 1) as [number, number, number, number];
    expect(a).toBe(128);
    expect(Math.abs(r - 200)).toBeLessThanOrEqual(2);
    expect(Math.abs(g - 100)).toBeLessThanOrEqual(2);
    expect(Math.abs(b - 50)).toBeLessThanOrEqual(2);
  });

  it('skips layers whose source is missing or has another size than the layout says', () => {
    const s = scene(8, 8, { in_0: {} }, { in_0: [8, 8, solid(8, 8, [255, 0, 0, 255])] });
    kernel.setSource('in_0', 4, 4, solid(4, 4, [255, 0, 0, 255]));
    kernel.composite(s.job);
    expect(kernel.output()).toEqual(solid(8, 8, [20, 40, 60, 255]));
    kernel.deleteSource('in_0');
    kernel.composite(s.job);
    expect(kernel.output()).toEqual(solid(8, 8, [20, 40, 60, 255]));
  });

  it('uses a new frame of a source after setSource (frames are taken once, when composited)', () => {
    const s = scene(4, 4, { in_0: {} }, { in_0: [4, 4, solid(4, 4, [255, 0, 0, 255])] });
    render(kernel, s);
    kernel.setSource('in_0', 4, 4, solid(4, 4, [0, 255, 0, 255]));
    kernel.composite(s.job);
    expect(px(kernel.output(), 4, 2, 2)).toEqual([0, 255, 0, 255]);
  });
});

describe('ts and wasm kernels', () => {
  it('agree closely with each other', async () => {
    const wasm = await createWasmKernel();
    for (let seed = 500; seed < 520; seed++) {
      const s = randomScene(seed, 'bilinear');
      const d = diffFrames(render(createTsKernel(), s), render(wasm, s));
      expect(d.max, `seed ${seed}`).toBeLessThanOrEqual(12);
    }
  });
});

describe('wasm kernel memory', () => {
  it('reuses its frame pool: resizing sources and output does not grow memory without bound', async () => {
    const kernel = await createWasmKernel();
    const sizes = [
      [320, 180],
      [64, 48],
      [640, 360],
      [100, 100],
    ] as const;
    let high = 0;
    for (let round = 0; round < 6; round++) {
      for (const [w, h] of sizes) {
        const s = scene(
          w,
          h,
          { in_0: {}, in_1: { opacity: 0.5, rotation_degrees: 10 } },
          { in_0: [w, h, makeFrame(w, h, 'opaque')], in_1: [h, w, makeFrame(h, w, 'mixed')] },
        );
        render(kernel, s);
      }
      const used = (kernel as unknown as { memoryBytes: number }).memoryBytes;
      if (round === 1) high = used;
      if (round > 1) expect(used).toBeLessThanOrEqual(high);
    }
  });
});

describe('createKernel', () => {
  it('prefers WebAssembly and honours an explicit choice', async () => {
    expect((await createKernel()).kernel.kind).toBe('wasm');
    expect((await createKernel('ts')).kernel.kind).toBe('ts');
  });

  it('falls back to TypeScript where WebAssembly is missing', async () => {
    const g = globalThis as { WebAssembly?: unknown };
    const saved = g.WebAssembly;
    g.WebAssembly = undefined;
    try {
      const { kernel, fallbackReason } = await createKernel();
      expect(kernel.kind).toBe('ts');
      expect(fallbackReason).toMatch(/not available/);
      await expect(createKernel('wasm')).rejects.toThrow();
    } finally {
      g.WebAssembly = saved;
    }
  });
});

describe('decodeBase64', () => {
  it('decodes standard base64 with and without padding', () => {
    const text = (bytes: Uint8Array) => String.fromCharCode(...bytes);
    expect(text(decodeBase64('aGVsbG8gd29ybGQ='))).toBe('hello world');
    expect(text(decodeBase64('aGVsbG8gd29ybGQ'))).toBe('hello world');
    expect(text(decodeBase64('YQ=='))).toBe('a');
    expect(decodeBase64('')).toEqual(new Uint8Array(0));
    expect([...decodeBase64('/+8A')]).toEqual([255, 239, 0]);
    expect(() => decodeBase64('a$==')).toThrow();
  });
});
