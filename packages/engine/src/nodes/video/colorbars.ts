import { z } from 'zod';
import { FramePool } from '../../frame-pool';
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

function sweep(width: number): { block: number; span: number } {
  const block = Math.max(4, Math.floor(width / 16));
  return { block, span: Math.max(1, width - block) };
}

/**
 * An animated RGBA test pattern: colour bars with a white block sweeping across the bottom
 * band, so motion (and a stuck pipeline) is visible. The bars are drawn once; each frame copies
 * them into a pooled buffer (see FramePool: a consumer that releases its frames, such as the
 * compositor or an encoder, keeps the source allocating nothing) and draws the block.
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
      const pool = new FramePool();
      for (let i = 0; i < frames && !ctx.signal.stopped; i++) {
        const x0 = Math.floor((i * block) / 4) % span;
        const lease = pool.acquire(base.byteLength);
        const data = lease.data;
        data.set(base);
        for (let y = band; y < height; y++) data.set(row, (y * width + x0) * 4);
        const ptsUs = Math.round((i * 1_000_000) / fps);
        await ctx.pace(ptsUs);
        await ctx.send('out', { type: 'video', width, height, data, ptsUs, lease });
        lease.release();
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
