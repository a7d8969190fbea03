import { z } from 'zod';

/** How a source's crop window is fitted into its layer rect. */
export const AspectFit = { contain: 'contain', cover: 'cover', stretch: 'stretch' } as const;
export type AspectFit = (typeof AspectFit)[keyof typeof AspectFit];

/** The visible shape of a layer: its rect, or the ellipse inscribed in it (a circle when square). */
export const CropShape = { rect: 'rect', circle: 'circle' } as const;
export type CropShape = (typeof CropShape)[keyof typeof CropShape];

const channel = z.number().int().min(0).max(255);
const RECT_LIMIT = 16384;

/** Straight (not premultiplied) RGBA, 0..255 per channel. */
export const RgbaSchema = z.object({
  r: channel.default(0),
  g: channel.default(0),
  b: channel.default(0),
  a: channel.default(255),
});
export type Rgba = z.infer<typeof RgbaSchema>;

/**
 * A rectangle in output pixels; may extend past the frame. Bounded so the kernels' 16.16 fixed
 * point coordinates cannot overflow.
 */
export const LayerRectSchema = z.object({
  x: z.number().min(-RECT_LIMIT).max(RECT_LIMIT).default(0),
  y: z.number().min(-RECT_LIMIT).max(RECT_LIMIT).default(0),
  width: z.number().nonnegative().max(RECT_LIMIT),
  height: z.number().nonnegative().max(RECT_LIMIT),
});
export type LayerRect = z.infer<typeof LayerRectSchema>;

export const LayerConfigSchema = z.object({
  /** Where the layer goes; absent = the whole output frame. */
  rect: LayerRectSchema.optional(),
  aspect_fit: z.enum(['contain', 'cover', 'stretch']).default('contain'),
  opacity: z.number().min(0).max(1).default(1),
  /** Stacking order, higher on top; absent = the pin's index (`in_2` → 2). */
  z_index: z.number().int().optional(),
  /** Clockwise on screen, about the centre of the fitted rect. */
  rotation_degrees: z.number().default(0),
  mirror_horizontal: z.boolean().default(false),
  mirror_vertical: z.boolean().default(false),
  /** 1 shows the whole source, 2 the central half (of each side), and so on. */
  crop_zoom: z.number().min(1).max(64).default(1),
  /** Centre of the crop window as a fraction of the source size; clamped so the window stays inside. */
  crop_x: z.number().min(0).max(1).default(0.5),
  crop_y: z.number().min(0).max(1).default(0.5),
  crop_shape: z.enum(['rect', 'circle']).default('rect'),
});
export type LayerConfig = z.infer<typeof LayerConfigSchema>;

/** `video::compositor` params; every field has a default, so `{}` is valid. */
export const CompositorParamsSchema = z
  .object({
    width: z.number().int().min(1).max(7680).default(1280),
    height: z.number().int().min(1).max(4320).default(720),
    /** Nominal output rate, published with the layout; frames follow the primary input (see the node). */
    fps: z.number().positive().max(240).default(30),
    background: RgbaSchema.prefault({}),
    /** Per input pin (`in_0`, `in_1`, …); pins without an entry get an automatic slot. */
    layers: z.record(z.string(), LayerConfigSchema).default({}),
    /**
     * Pixel format of the output frames: `rgba`, or `i420` (YUV 4:2:0, converted in the kernel,
     * for a compositor that feeds an encoder: 40 % of the bytes and no separate conversion).
     */
    output_format: z.enum(['rgba', 'i420']).default('rgba'),
  })
  .superRefine((p, ctx) => {
    if (p.output_format === 'i420' && (p.width % 2 !== 0 || p.height % 2 !== 0))
      ctx.addIssue({
        code: 'custom',
        path: ['output_format'],
        message: `i420 output needs an even width and height, not ${p.width}×${p.height}`,
      });
  });
export type CompositorParams = z.infer<typeof CompositorParamsSchema>;
