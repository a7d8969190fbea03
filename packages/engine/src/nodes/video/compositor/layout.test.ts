import { describe, expect, it } from 'vitest';
import { layoutView, PIP_MARGIN_FRACTION, resolveLayout } from './layout';
import type { LayoutInput } from './layout';
import { CompositorParamsSchema } from './params';
import type { CompositorParams } from './params';

const params = (raw: unknown = {}): CompositorParams => CompositorParamsSchema.parse(raw);
const hd = (pin: string, width = 1280, height = 720): LayoutInput => ({ pin, width, height });
const one = (raw: unknown, input: LayoutInput = hd('in_0')) => {
  const [layer] = resolveLayout(params(raw), [input]);
  return layer!;
};

describe('compositor params', () => {
  it('accepts {} and fills every default', () => {
    expect(params()).toEqual({
      width: 1280,
      height: 720,
      fps: 30,
      background: { r: 0, g: 0, b: 0, a: 255 },
      layers: {},
      output_format: 'rgba',
    });
  });

  it('defaults every layer field, so a layer config may be {}', () => {
    expect(params({ layers: { in_1: {} } }).layers.in_1).toEqual({
      aspect_fit: 'contain',
      opacity: 1,
      rotation_degrees: 0,
      mirror_horizontal: false,
      mirror_vertical: false,
      crop_zoom: 1,
      crop_x: 0.5,
      crop_y: 0.5,
      crop_shape: 'rect',
    });
  });

  it('rejects out-of-range values', () => {
    for (const bad of [
      { layers: { in_0: { opacity: 1.5 } } },
      { layers: { in_0: { crop_zoom: 0.5 } } },
      { layers: { in_0: { crop_x: -0.1 } } },
      { layers: { in_0: { z_index: 1.5 } } },
      { layers: { in_0: { crop_shape: 'star' } } },
      { layers: { in_0: { rect: { x: 0, y: 0, width: 1e6, height: 10 } } } },
      { background: { r: 256 } },
      { width: 0 },
    ]) {
      expect(CompositorParamsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('resolveLayout', () => {
  it('rect + contain letterboxes a source into its box, centred, with integer edges', () => {
    const layer = one({ layers: { in_0: { rect: { x: 100, y: 100, width: 400, height: 400 } } } });
    expect(layer.rect).toEqual({ x: 100, y: 188, width: 400, height: 225 });
    expect(layer.crop).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
    expect(layer.source).toEqual({ width: 1280, height: 720 });
  });

  it('contain pillarboxes a tall source', () => {
    const layer = one(
      { layers: { in_0: { rect: { x: 0, y: 0, width: 1280, height: 720 } } } },
      hd('in_0', 360, 720),
    );
    expect(layer.rect).toEqual({ x: 460, y: 0, width: 360, height: 720 });
  });

  it('cover keeps the rect and narrows the crop window to its aspect, centred', () => {
    const layer = one({
      layers: { in_0: { rect: { x: 0, y: 0, width: 400, height: 400 }, aspect_fit: 'cover' } },
    });
    expect(layer.rect).toEqual({ x: 0, y: 0, width: 400, height: 400 });
    expect(layer.crop).toEqual({ x: 280, y: 0, width: 720, height: 720 });
  });

  it('stretch fills the rect with the whole source', () => {
    const layer = one({
      layers: { in_0: { rect: { x: 10, y: 20, width: 300, height: 300 }, aspect_fit: 'stretch' } },
    });
    expect(layer.rect).toEqual({ x: 10, y: 20, width: 300, height: 300 });
    expect(layer.crop).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
  });

  it('a config without rect fills the output', () => {
    expect(one({ width: 640, height: 360, layers: { in_0: { opacity: 0.5 } } }).rect).toEqual({
      x: 0,
      y: 0,
      width: 640,
      height: 360,
    });
  });

  it('crop_zoom 2 shows the central half of each side', () => {
    const layer = one({ layers: { in_0: { crop_zoom: 2 } } });
    expect(layer.crop).toEqual({ x: 320, y: 180, width: 640, height: 360 });
    expect(layer.rect).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
  });

  it('crop_x / crop_y move the window centre and clamp it inside the source', () => {
    expect(one({ layers: { in_0: { crop_zoom: 4, crop_x: 0.25, crop_y: 0.75 } } }).crop).toEqual({
      x: 160,
      y: 450,
      width: 320,
      height: 180,
    });
    expect(one({ layers: { in_0: { crop_zoom: 2, crop_x: 0, crop_y: 1 } } }).crop).toEqual({
      x: 0,
      y: 360,
      width: 640,
      height: 360,
    });
  });

  it('passes opacity, rotation, mirrors, shape and fit through', () => {
    const layer = one({
      layers: {
        in_0: {
          opacity: 0.25,
          rotation_degrees: -30,
          mirror_horizontal: true,
          mirror_vertical: true,
          crop_shape: 'circle',
          aspect_fit: 'cover',
        },
      },
    });
    expect(layer).toMatchObject({
      opacity: 0.25,
      rotation_degrees: -30,
      mirror_horizontal: true,
      mirror_vertical: true,
      crop_shape: 'circle',
      aspect_fit: 'cover',
      auto: false,
    });
  });

  it('z_index defaults to the pin index; layers sort by z then pin index', () => {
    const layers = resolveLayout(
      params({ layers: { in_0: { z_index: 5 }, in_1: {}, in_2: { z_index: 1 } } }),
      [hd('in_2'), hd('in_0'), hd('in_1')],
    );
    expect(layers.map((l) => [l.pin, l.z_index])).toEqual([
      ['in_1', 1],
      ['in_2', 1],
      ['in_0', 5],
    ]);
  });

  it('orders pins by family index, not by name (in_10 after in_2)', () => {
    const layers = resolveLayout(params(), [hd('in_10'), hd('in_2')]);
    expect(layers.map((l) => l.pin)).toEqual(['in_2', 'in_10']);
    expect(layers.map((l) => l.index)).toEqual([2, 10]);
  });

  it('auto picture-in-picture: the first unconfigured input fills the frame, the rest stack from the bottom-right', () => {
    const layers = resolveLayout(params(), [hd('in_0'), hd('in_1'), hd('in_2', 640, 480)]);
    const margin = Math.round(720 * PIP_MARGIN_FRACTION);
    expect(margin).toBe(20);
    expect(layers.map((l) => [l.pin, l.auto, l.rect])).toEqual([
      ['in_0', true, { x: 0, y: 0, width: 1280, height: 720 }],
      ['in_1', true, { x: 1280 - 20 - 320, y: 720 - 20 - 180, width: 320, height: 180 }],
      // 1/4 output width, aspect kept, above the previous tile with the margin between.
      ['in_2', true, { x: 940, y: 520 - 20 - 240, width: 320, height: 240 }],
    ]);
  });

  it('auto tiles skip configured inputs: the first unconfigured one fills the frame', () => {
    const layers = resolveLayout(
      params({ layers: { in_0: { rect: { x: 0, y: 0, width: 100, height: 100 } } } }),
      [hd('in_0'), hd('in_1'), hd('in_2')],
    );
    expect(layers.find((l) => l.pin === 'in_1')!.rect).toEqual({
      x: 0,
      y: 0,
      width: 1280,
      height: 720,
    });
    expect(layers.find((l) => l.pin === 'in_2')!.rect).toEqual({
      x: 940,
      y: 520,
      width: 320,
      height: 180,
    });
  });

  it('auto tiles start a new column when one is full', () => {
    const inputs = [hd('in_0'), ...[1, 2, 3, 4].map((i) => hd(`in_${i}`))];
    const tiles = resolveLayout(params(), inputs).slice(1);
    expect(tiles.map((l) => [l.rect.x, l.rect.y])).toEqual([
      [940, 520],
      [940, 320],
      [940, 120],
      [600, 520],
    ]);
  });

  it('an input without a frame yet keeps its slot with an unknown (0×0) source', () => {
    const layers = resolveLayout(params(), [hd('in_0'), { pin: 'in_1', width: 0, height: 0 }]);
    expect(layers[1]).toMatchObject({
      source: { width: 0, height: 0 },
      crop: { x: 0, y: 0, width: 0, height: 0 },
      rect: { x: 940, y: 520, width: 320, height: 180 },
    });
  });

  it('ignores configs of pins that are not connected', () => {
    expect(resolveLayout(params({ layers: { in_5: {} } }), [hd('in_0')]).map((l) => l.pin)).toEqual(
      ['in_0'],
    );
  });

  it('the view is JSON-serialisable and carries the output size', () => {
    const p = params({ width: 640, height: 360, layers: { in_1: { rotation_degrees: 15 } } });
    const view = layoutView(p, resolveLayout(p, [hd('in_0'), hd('in_1')]));
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
    expect(view).toMatchObject({ width: 640, height: 360, fps: 30 });
  });
});
