import { resolveLayout } from '../layout';
import type { LayoutInput } from '../layout';
import { CompositorParamsSchema } from '../params';
import type { CompositorParams, LayerConfig } from '../params';
import type { CompositeJob, CompositorKernel, Filter } from '../kernels/types';

// Test and benchmark helpers: seeded scenes and frame comparison. Not used by the node.

/** A small seeded PRNG (mulberry32): same seed, same scene. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const AlphaMode = { opaque: 'opaque', mixed: 'mixed' } as const;
export type AlphaMode = (typeof AlphaMode)[keyof typeof AlphaMode];

/**
 * A test picture: smooth gradients with some texture; `mixed` alpha has fully transparent,
 * fully opaque and soft regions (a disc with a ramp), like a real overlay.
 */
export function makeFrame(width: number, height: number, alpha: AlphaMode, seed = 1): Uint8Array {
  const rand = rng(seed);
  const data = new Uint8Array(width * height * 4);
  const phase = rand() * 6;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data[o] = (x * 255) / Math.max(1, width - 1);
      data[o + 1] = (y * 255) / Math.max(1, height - 1);
      data[o + 2] = 128 + 127 * Math.sin(phase + x * 0.3 + y * 0.2);
      let a = 255;
      if (alpha === 'mixed') {
        const d = Math.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2));
        a = d < 0.5 ? 255 : d > 0.9 ? 0 : Math.round((255 * (0.9 - d)) / 0.4);
        if (((x >> 2) + (y >> 2)) % 7 === 0) a = Math.round(a / 3);
      }
      data[o + 3] = a;
    }
  }
  return data;
}

export interface Scene {
  params: CompositorParams;
  inputs: { pin: string; width: number; height: number; data: Uint8Array }[];
  job: CompositeJob;
}

/** A random scene on a small output: layers of every kind, some without config (automatic). */
export function randomScene(
  seed: number,
  filter: Filter,
  options: { translucentBackground?: boolean } = {},
): Scene {
  const rand = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const width = int(48, 120);
  const height = int(40, 90);
  const count = int(1, 4);
  const inputs: Scene['inputs'] = [];
  const layers: Record<string, LayerConfig> = {};
  for (let i = 0; i < count; i++) {
    const pin = `in_${i}`;
    const w = int(6, 100);
    const h = int(6, 80);
    inputs.push({
      pin,
      width: w,
      height: h,
      data: makeFrame(w, h, rand() < 0.5 ? 'opaque' : 'mixed', int(1, 1e6)),
    });
    if (rand() < 0.2) continue;
    layers[pin] = {
      rect: {
        x: int(-20, width - 10),
        y: int(-20, height - 10),
        width: int(4, width),
        height: int(4, height),
      },
      aspect_fit: pick(['contain', 'cover', 'stretch'] as const),
      opacity: rand() < 0.4 ? 1 : Math.round(rand() * 100) / 100,
      z_index: int(0, 5),
      rotation_degrees:
        rand() < 0.4
          ? 0
          : rand() < 0.2
            ? pick([90, 180, 270, -90])
            : Math.round(rand() * 720 - 360),
      mirror_horizontal: rand() < 0.3,
      mirror_vertical: rand() < 0.3,
      crop_zoom: rand() < 0.5 ? 1 : 1 + rand() * 3,
      crop_x: rand(),
      crop_y: rand(),
      crop_shape: rand() < 0.25 ? 'circle' : 'rect',
    };
  }
  const background = options.translucentBackground
    ? { r: int(0, 255), g: int(0, 255), b: int(0, 255), a: int(0, 254) }
    : { r: int(0, 255), g: int(0, 255), b: int(0, 255), a: 255 };
  const params = CompositorParamsSchema.parse({ width, height, background, layers });
  const resolved = resolveLayout(
    params,
    inputs.map(({ pin, width: w, height: h }) => ({ pin, width: w, height: h })),
  );
  return { params, inputs, job: { width, height, background, layers: resolved, filter } };
}

/** Loads a scene's sources into a kernel and composites it; returns a copy of the output. */
export function render(kernel: CompositorKernel, scene: Scene): Uint8Array {
  for (const input of scene.inputs)
    kernel.setSource(input.pin, input.width, input.height, input.data);
  kernel.composite(scene.job);
  return kernel.output().slice();
}

export interface FrameDiff {
  /** Mean absolute difference per channel value. */
  mean: number;
  max: number;
  /** Fraction of channel values that differ by more than 8. */
  over8: number;
}

/**
 * Compares two RGBA frames. With `premultiplied`, colour channels are compared after
 * multiplying by alpha: under a translucent background, straightening amplifies harmless
 * rounding in near-transparent pixels.
 */
export function diffFrames(a: Uint8Array, b: Uint8Array, premultiplied = false): FrameDiff {
  let sum = 0;
  let max = 0;
  let over8 = 0;
  for (let i = 0; i < a.length; i++) {
    let x = a[i]!;
    let y = b[i]!;
    if (premultiplied && i % 4 !== 3) {
      x = (x * a[i - (i % 4) + 3]!) / 255;
      y = (y * b[i - (i % 4) + 3]!) / 255;
    }
    const d = Math.abs(x - y);
    sum += d;
    if (d > max) max = d;
    if (d > 8) over8++;
  }
  return { mean: sum / a.length, max, over8: over8 / a.length };
}

export type { LayoutInput };
