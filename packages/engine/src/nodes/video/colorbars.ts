import { z } from 'zod';
import { defineNode } from '../../node-api';

export const ColorbarsParamsSchema = z.object({
  width: z.number().int().min(16).max(7680).default(1280),
  height: z.number().int().min(16).max(4320).default(720),
  fps: z.number().positive().max(240).default(30),
  /** 0 = endless. */
  frame_count: z.number().int().nonnegative().default(0),
});

// 75 % SMPTE bars: white, yellow, cyan, green, magenta, red, blue.
const BARS: ReadonlyArray<readonly [number, number, number]> = [
  [191, 191, 191],
  [191, 191, 0],
  [0, 191, 191],
  [0, 191, 0],
  [191, 0, 191],
  [191, 0, 0],
  [0, 0, 191],
];

/**
 * Most bytes of pre-drawn frames one colorbars node keeps in a oneshot run. The sweep repeats (60 frames at the
 * usual sizes), so once a run outlasts one cycle its frames repeat exactly: when the whole cycle
 * fits here (720p: 60 × 3.7 MB = 221 MB), each distinct frame is drawn once and its buffer is sent
 * again every cycle. Packets are immutable once sent, so sharing one buffer between identical
 * frames is safe, and it saves a 3.7 MB allocation, copy and its garbage collection per frame
 * (about a third of an unpaced 720p pipeline's time on the loop, measured here).
 */
export const COLORBARS_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * Frames after which the sweep repeats: the block's x is `floor(i · block / 4) mod (width −
 * block)`, so frame i + P equals frame i once `P · block` is a multiple of `4 · (width − block)`.
 */
export function colorbarsPeriod(width: number): number {
  const { block, span } = sweep(width);
  return (4 * span) / gcd(block, 4 * span);
}

function sweep(width: number): { block: number; span: number } {
  const block = Math.max(4, Math.floor(width / 16));
  return { block, span: Math.max(1, width - block) };
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * An animated RGBA test pattern: colour bars with a white block sweeping across the bottom
 * band, so motion (and a stuck pipeline) is visible. The bars are drawn once; each frame copies
 * them and draws the block, or reuses the identical frame of an earlier cycle (see
 * COLORBARS_CACHE_BYTES).
 */
export const colorbarsNode = defineNode({
  kind: 'video::colorbars',
  description: 'Animated colour-bar test pattern (RGBA); ends after frame_count when set.',
  params: ColorbarsParamsSchema,
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'raw_video' }] }),
  create: ({ params }) => ({
    async run(ctx) {
      const { width, height, fps, frame_count } = params;
      const base = drawBars(width, height);
      const band = Math.floor(height * 0.8);
      const { block, span } = sweep(width);
      const row = new Uint8Array(block * 4).fill(255);
      const frames = frame_count > 0 ? frame_count : Number.POSITIVE_INFINITY;
      const period = colorbarsPeriod(width);
      // Only in oneshot runs (unpaced, where the copy is the cost, and the memory goes with the
      // run), only when frames repeat within this run, and only within the memory budget. A live
      // session at 30 fps copies 110 MB/s, cheaper than holding a 221 MB cycle for hours.
      const cache =
        ctx.mode === 'oneshot' &&
        frames > period &&
        period * base.byteLength <= COLORBARS_CACHE_BYTES
          ? new Map<number, Uint8Array>()
          : undefined;
      for (let i = 0; i < frames && !ctx.signal.stopped; i++) {
        // A frame's pixels depend only on the block's x.
        const x0 = Math.floor((i * block) / 4) % span;
        let data = cache?.get(x0);
        if (!data) {
          data = base.slice();
          for (let y = band; y < height; y++) data.set(row, (y * width + x0) * 4);
          cache?.set(x0, data);
        }
        const ptsUs = Math.round((i * 1_000_000) / fps);
        await ctx.pace(ptsUs);
        await ctx.send('out', { type: 'video', width, height, data, ptsUs });
      }
      return 'completed';
    },
  }),
});

function drawBars(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  const row = new Uint8Array(width * 4);
  for (let x = 0; x < width; x++) {
    const [r, g, b] = BARS[Math.min(BARS.length - 1, Math.floor((x * BARS.length) / width))]!;
    row[x * 4] = r;
    row[x * 4 + 1] = g;
    row[x * 4 + 2] = b;
    row[x * 4 + 3] = 255;
  }
  const band = Math.floor(height * 0.8);
  for (let y = 0; y < band; y++) data.set(row, y * width * 4);
  // The bottom band is dark grey so the sweeping block stands out.
  for (let i = band * width * 4; i < data.length; i += 4) {
    data[i] = 32;
    data[i + 1] = 32;
    data[i + 2] = 32;
    data[i + 3] = 255;
  }
  return data;
}
