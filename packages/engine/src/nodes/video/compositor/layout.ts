import { familyIndex } from '@patchbay/protocol';
import type { AspectFit, CompositorParams, CropShape, LayerConfig } from './params';

/** A connected input as the layout sees it; `0×0` = no frame seen yet (the slot is still reserved). */
export interface LayoutInput {
  pin: string;
  width: number;
  height: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * One input as drawn: where, which part of the source, and how. Field names follow the params
 * (snake_case) because this is also the view data the editor reads.
 */
export interface ResolvedLayer {
  pin: string;
  /** The pin's family index (`in_3` → 3): the tie-break under equal `z_index`. */
  index: number;
  z_index: number;
  /** True when the pin has no entry in `params.layers` and got an automatic slot. */
  auto: boolean;
  source: { width: number; height: number };
  /** Destination in output pixels after aspect fit, before rotation; integers. */
  rect: Rect;
  /** The window of the source that fills `rect`, in source pixels (fractional). */
  crop: Rect;
  rotation_degrees: number;
  mirror_horizontal: boolean;
  mirror_vertical: boolean;
  opacity: number;
  crop_shape: CropShape;
  aspect_fit: AspectFit;
}

/** What the node publishes as view data. */
export interface CompositorView {
  width: number;
  height: number;
  fps: number;
  layers: ResolvedLayer[];
}

/** Automatic picture-in-picture tiles are this fraction of the output width. */
export const PIP_WIDTH_FRACTION = 0.25;
/** Gap between tiles and to the frame edge, as a fraction of the output's shorter side (20 px at 720p). */
export const PIP_MARGIN_FRACTION = 1 / 36;

const AUTO_DEFAULTS: Omit<LayerConfig, 'rect'> = {
  aspect_fit: 'contain',
  opacity: 1,
  rotation_degrees: 0,
  mirror_horizontal: false,
  mirror_vertical: false,
  crop_zoom: 1,
  crop_x: 0.5,
  crop_y: 0.5,
  crop_shape: 'rect',
};

/**
 * Resolves every connected input to a drawn layer, sorted by `z_index` then pin index (bottom
 * first). Pure: the node, the kernels' tests and the editor all get the same answer.
 */
export function resolveLayout(
  params: Pick<CompositorParams, 'width' | 'height' | 'layers'>,
  inputs: readonly LayoutInput[],
): ResolvedLayer[] {
  const W = params.width;
  const H = params.height;
  const ordered = inputs
    .map((input, position) => ({ input, index: familyIndex(input.pin) ?? position }))
    .sort((a, b) => a.index - b.index || cmp(a.input.pin, b.input.pin));

  const margin = Math.round(Math.min(W, H) * PIP_MARGIN_FRACTION);
  const tileWidth = Math.round(W * PIP_WIDTH_FRACTION);
  let filled = false;
  let tileX = W - margin - tileWidth;
  let tileBottom = H - margin;

  const layers: ResolvedLayer[] = [];
  for (const { input, index } of ordered) {
    const config = Object.hasOwn(params.layers, input.pin) ? params.layers[input.pin] : undefined;
    let box: Rect;
    let settings: Omit<LayerConfig, 'rect'>;
    if (config) {
      box = config.rect ?? { x: 0, y: 0, width: W, height: H };
      settings = config;
    } else if (!filled) {
      filled = true;
      box = { x: 0, y: 0, width: W, height: H };
      settings = AUTO_DEFAULTS;
    } else {
      // Unknown source size: reserve a tile of the output's aspect until the first frame arrives.
      const aspect = input.width > 0 && input.height > 0 ? input.height / input.width : H / W;
      const tileHeight = Math.round(tileWidth * aspect);
      if (tileBottom - tileHeight < margin && tileBottom < H - margin) {
        // The column is full: start the next one to the left.
        tileX -= tileWidth + margin;
        tileBottom = H - margin;
      }
      box = { x: tileX, y: tileBottom - tileHeight, width: tileWidth, height: tileHeight };
      tileBottom -= tileHeight + margin;
      settings = AUTO_DEFAULTS;
    }
    const { rect, crop } = fit(box, input.width, input.height, settings);
    layers.push({
      pin: input.pin,
      index,
      z_index: config?.z_index ?? index,
      auto: config === undefined,
      source: { width: input.width, height: input.height },
      rect,
      crop,
      rotation_degrees: settings.rotation_degrees,
      mirror_horizontal: settings.mirror_horizontal,
      mirror_vertical: settings.mirror_vertical,
      opacity: settings.opacity,
      crop_shape: settings.crop_shape,
      aspect_fit: settings.aspect_fit,
    });
  }
  return layers.sort((a, b) => a.z_index - b.z_index || a.index - b.index || cmp(a.pin, b.pin));
}

/** The view data for a layout (JSON-serialisable). */
export function layoutView(
  params: Pick<CompositorParams, 'width' | 'height' | 'fps'>,
  layers: ResolvedLayer[],
): CompositorView {
  return { width: params.width, height: params.height, fps: params.fps, layers };
}

function fit(
  box: Rect,
  srcW: number,
  srcH: number,
  settings: Pick<LayerConfig, 'aspect_fit' | 'crop_zoom' | 'crop_x' | 'crop_y'>,
): { rect: Rect; crop: Rect } {
  if (srcW <= 0 || srcH <= 0) return { rect: snap(box), crop: { x: 0, y: 0, width: 0, height: 0 } };
  let cw = srcW / settings.crop_zoom;
  let ch = srcH / settings.crop_zoom;
  let dest = box;
  if (box.width > 0 && box.height > 0) {
    if (settings.aspect_fit === 'contain') {
      const scale = Math.min(box.width / cw, box.height / ch);
      const w = cw * scale;
      const h = ch * scale;
      dest = {
        x: box.x + (box.width - w) / 2,
        y: box.y + (box.height - h) / 2,
        width: w,
        height: h,
      };
    } else if (settings.aspect_fit === 'cover') {
      // Cover keeps the rect and narrows the crop window to its aspect, so nothing spills out.
      if (cw / ch > box.width / box.height) cw = (ch * box.width) / box.height;
      else ch = (cw * box.height) / box.width;
    }
  }
  const cx = clamp(settings.crop_x * srcW, cw / 2, srcW - cw / 2);
  const cy = clamp(settings.crop_y * srcH, ch / 2, srcH - ch / 2);
  return { rect: snap(dest), crop: { x: cx - cw / 2, y: cy - ch / 2, width: cw, height: ch } };
}

/** Integer edges (rounded independently) so adjacent rects tile without gaps or overlaps. */
function snap(r: Rect): Rect {
  const x = Math.round(r.x);
  const y = Math.round(r.y);
  return { x, y, width: Math.round(r.x + r.width) - x, height: Math.round(r.y + r.height) - y };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
