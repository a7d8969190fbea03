/**
 * The compositor editor's model: layer boxes from the node's params and its latest view data
 * (the resolved layout the server computes), geometry of move/resize gestures, and which
 * source wins while a layer is being dragged (S7).
 */

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** One layer of the compositor's view data (the server's resolved layout). */
export interface ViewLayer {
  readonly pin: string;
  readonly z_index: number;
  readonly auto: boolean;
  readonly rect: Rect;
  readonly opacity: number;
  readonly rotation_degrees: number;
}

export interface CompositorView {
  readonly width: number;
  readonly height: number;
  readonly layers: readonly ViewLayer[];
}

/** The params of one layer the editor changes. */
export interface LayerParams {
  readonly rect?: Rect;
  readonly opacity?: number;
  readonly rotation_degrees?: number;
  readonly crop_zoom?: number;
  readonly z_index?: number;
}

/** A box as drawn over the preview. */
export interface LayerBox {
  readonly pin: string;
  readonly rect: Rect;
  readonly opacity: number;
  readonly rotation: number;
  readonly z: number;
  /** Laid out automatically (no entry in params yet). */
  readonly auto: boolean;
  /** Being dragged here: drawn from the local gesture, not from view data (S7). */
  readonly held: boolean;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rectOf(v: unknown): Rect | undefined {
  if (!isRecord(v)) return undefined;
  const { x, y, width, height } = v;
  if (typeof width !== 'number' || typeof height !== 'number') return undefined;
  return { x: num(x, 0), y: num(y, 0), width, height };
}

/** Read view data defensively; undefined when it is not a compositor layout. */
export function parseView(data: unknown): CompositorView | undefined {
  if (!isRecord(data) || !Array.isArray(data.layers)) return undefined;
  const layers: ViewLayer[] = [];
  for (const l of data.layers) {
    if (!isRecord(l) || typeof l.pin !== 'string') continue;
    const rect = rectOf(l.rect);
    if (!rect) continue;
    layers.push({
      pin: l.pin,
      z_index: num(l.z_index, 0),
      auto: l.auto === true,
      rect,
      opacity: num(l.opacity, 1),
      rotation_degrees: num(l.rotation_degrees, 0),
    });
  }
  return { width: num(data.width, 1280), height: num(data.height, 720), layers };
}

/** The layers' params (`params.layers`), by pin. */
export function layerParams(params: unknown): Record<string, LayerParams> {
  const layers = isRecord(params) && isRecord(params.layers) ? params.layers : {};
  const out: Record<string, LayerParams> = {};
  for (const [pin, v] of Object.entries(layers)) {
    if (!isRecord(v)) continue;
    const rect = rectOf(v.rect);
    out[pin] = {
      ...(rect ? { rect } : {}),
      ...(typeof v.opacity === 'number' ? { opacity: v.opacity } : {}),
      ...(typeof v.rotation_degrees === 'number' ? { rotation_degrees: v.rotation_degrees } : {}),
      ...(typeof v.crop_zoom === 'number' ? { crop_zoom: v.crop_zoom } : {}),
      ...(typeof v.z_index === 'number' ? { z_index: v.z_index } : {}),
    };
  }
  return out;
}

/**
 * The boxes to draw. The view data is the truth for geometry the server resolved; a layer only
 * in params (no view data yet) is drawn from its params; the layer being dragged (`held`) is
 * drawn from the gesture and ignores view data until the gesture ends (S7). `viewBehind`: the
 * latest view data does not yet include this tab's own last edit (S6), so layers with params
 * are drawn from them until it does (no snap back between release and the server's answer).
 */
export function layerBoxes(
  params: unknown,
  view: CompositorView | undefined,
  held?: { readonly pin: string; readonly layer: LayerParams },
  viewBehind = false,
): LayerBox[] {
  const fromParams = layerParams(params);
  const boxes = new Map<string, LayerBox>();
  for (const l of view?.layers ?? []) {
    const p = viewBehind ? fromParams[l.pin] : undefined;
    if (p?.rect) {
      boxes.set(l.pin, {
        pin: l.pin,
        rect: p.rect,
        opacity: p.opacity ?? l.opacity,
        rotation: p.rotation_degrees ?? l.rotation_degrees,
        z: p.z_index ?? l.z_index,
        auto: false,
        held: false,
      });
      continue;
    }
    boxes.set(l.pin, {
      pin: l.pin,
      rect: l.rect,
      opacity: l.opacity,
      rotation: l.rotation_degrees,
      z: l.z_index,
      auto: l.auto,
      held: false,
    });
  }
  for (const [pin, p] of Object.entries(fromParams)) {
    if (boxes.has(pin) || !p.rect) continue;
    boxes.set(pin, {
      pin,
      rect: p.rect,
      opacity: p.opacity ?? 1,
      rotation: p.rotation_degrees ?? 0,
      z: p.z_index ?? 0,
      auto: false,
      held: false,
    });
  }
  if (held) {
    const prev = boxes.get(held.pin);
    const rect = held.layer.rect ?? prev?.rect;
    if (rect) {
      boxes.set(held.pin, {
        pin: held.pin,
        rect,
        opacity: held.layer.opacity ?? prev?.opacity ?? 1,
        rotation: held.layer.rotation_degrees ?? prev?.rotation ?? 0,
        z: held.layer.z_index ?? prev?.z ?? 0,
        auto: false,
        held: true,
      });
    }
  }
  return [...boxes.values()].sort((a, b) => a.z - b.z || (a.pin < b.pin ? -1 : 1));
}

export type Corner = 'nw' | 'ne' | 'sw' | 'se';

/** Smallest layer side a resize leaves, in output pixels. */
export const MIN_LAYER_SIDE = 8;

/** The rect moved by `(dx, dy)` output pixels (rounded: the compositor draws whole pixels). */
export function moveRect(r: Rect, dx: number, dy: number): Rect {
  return { ...r, x: Math.round(r.x + dx), y: Math.round(r.y + dy) };
}

/** The rect resized by dragging `corner` by `(dx, dy)`; the opposite corner stays put. */
export function resizeRect(r: Rect, corner: Corner, dx: number, dy: number): Rect {
  let { x, y, width, height } = r;
  if (corner === 'nw' || corner === 'sw') {
    const w = Math.max(MIN_LAYER_SIDE, width - dx);
    x += width - w;
    width = w;
  } else {
    width = Math.max(MIN_LAYER_SIDE, width + dx);
  }
  if (corner === 'nw' || corner === 'ne') {
    const h = Math.max(MIN_LAYER_SIDE, height - dy);
    y += height - h;
    height = h;
  } else {
    height = Math.max(MIN_LAYER_SIDE, height + dy);
  }
  return {
    x: Math.round(x),
    y: Math.round(y),
    width: Math.round(width),
    height: Math.round(height),
  };
}

/** The param writes of a layer gesture (`['layers', pin, key]` paths), for one stamped transaction. */
export function layerWrites(
  pin: string,
  layer: LayerParams,
): Array<readonly [readonly string[], unknown]> {
  const out: Array<readonly [readonly string[], unknown]> = [];
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    out.push([['layers', pin, key], value]);
  }
  return out;
}
