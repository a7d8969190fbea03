/**
 * The compositor editor under live view data: a layer being dragged or slid follows the
 * pointer and never jumps back while the server echoes resolved layouts (S7), two users
 * dragging two layers at once each keep their own (S6), and everyone ends on the same
 * params and layout (S8).
 */
import { expect } from '@playwright/test';
import {
  centreOf,
  countEvents,
  createSession,
  layerPosition,
  openCompositor,
  openSession,
  pipelineJson,
  recordShown,
  regressions,
  screenshot,
  test,
  viewRect,
} from './helpers/studio';
import type { EventCounter } from './helpers/studio';

// Ninety pointer steps with echo waits: generous on a shared two-core machine.
test.describe.configure({ timeout: 120_000 });

const STEPS = 30;
/** Steps between checks that fresh view data reached the dragging page. */
const ECHO_EVERY = 10;

const MIX_YAML = `name: Three layers
nodes:
  bg:
    kind: video::colorbars
    params: { width: 320, height: 180, fps: 5 }
    position: { x: 0, y: 0 }
  cam_1:
    kind: video::colorbars
    params: { width: 160, height: 90, fps: 5 }
    position: { x: 0, y: 180 }
  cam_2:
    kind: video::colorbars
    params: { width: 160, height: 90, fps: 5 }
    position: { x: 0, y: 360 }
  mix:
    kind: video::compositor
    params:
      width: 640
      height: 360
      fps: 5
      layers:
        in_1: { rect: { x: 20, y: 20, width: 160, height: 90 }, opacity: 0.5 }
        in_2: { rect: { x: 440, y: 240, width: 160, height: 90 }, opacity: 0.9 }
    needs: [bg, cam_1, cam_2]
    position: { x: 320, y: 180 }
`;

/** Waits until `page` has received view data for the node since `seen` (the server echoed). */
async function waitForEcho(counter: EventCounter, seen: number): Promise<number> {
  await expect.poll(() => counter.count).toBeGreaterThan(seen);
  return counter.count;
}

const LAYER_1 = '[data-testid="layer-in_1"]';
const LAYER_2 = '[data-testid="layer-in_2"]';

test('[S7][S8] a layer dragged through 30 positions never moves back while view data arrives, and the other user ends on its final position', async ({
  a,
  b,
  request,
}) => {
  const id = await createSession(request, 'drag one layer', MIX_YAML);
  const echoes = countEvents(a.page, 'node_view_data', 'mix');
  await openSession(a, id);
  await openSession(b, id);
  await openCompositor(a.page, 'mix');
  await openCompositor(b.page, 'mix');

  const start = await centreOf(a.page.getByTestId('layer-in_1'));
  const xs = await recordShown(a.page, LAYER_1, 'data-x');
  const ys = await recordShown(a.page, LAYER_1, 'data-y');
  await a.page.mouse.move(start.x, start.y);
  await a.page.mouse.down();
  let seen = echoes.count;
  const echoedDuringDrag: number[] = [];
  for (let i = 1; i <= STEPS; i++) {
    await a.page.mouse.move(start.x + i * 3, start.y + i);
    if (i % ECHO_EVERY === 0) {
      seen = await waitForEcho(echoes, seen);
      echoedDuringDrag.push(seen);
    }
  }
  await expect(a.page.getByTestId('layer-in_1')).toHaveAttribute('data-held', 'true');
  await a.page.mouse.up();
  const shown = { xs: await xs.stop(), ys: await ys.stop() };

  // Each step showed a new position (plus the start), none moved backwards, and view data
  // did arrive during the drag.
  expect(shown.xs).toHaveLength(STEPS + 1);
  expect(regressions(shown.xs, 1)).toBe(0);
  expect(regressions(shown.ys, 1)).toBe(0);
  expect(echoedDuringDrag).toHaveLength(STEPS / ECHO_EVERY);

  const final = { x: shown.xs.at(-1), y: shown.ys.at(-1) };
  for (const page of [a.page, b.page]) {
    await expect(page.getByTestId('layer-in_1')).toHaveAttribute('data-x', String(final.x));
    await expect(page.getByTestId('layer-in_1')).toHaveAttribute('data-y', String(final.y));
  }
  await expect
    .poll(async () => (await pipelineJson(request, id)).nodes.mix?.params)
    .toMatchObject({ layers: { in_1: { rect: { x: final.x, y: final.y } } } });
  // The server's layout reaches the final position too, and the editor still shows it there.
  await expect.poll(() => viewRect(echoes.last, 'in_1')).toEqual(final);
  expect(await layerPosition(a.page, 'in_1')).toEqual(final);
  await a.page.getByTestId('layer-in_1').click();
  await screenshot(a.page, 'compositor-editor');
  expect([...a.errors, ...b.errors]).toEqual([]);
});

test('[S7][S8] a layer opacity slid through 30 values never moves back while view data arrives, and the other user ends on its final value', async ({
  a,
  b,
  request,
}) => {
  const id = await createSession(request, 'slide opacity', MIX_YAML);
  const echoes = countEvents(a.page, 'node_view_data', 'mix');
  await openSession(a, id);
  await openSession(b, id);
  await openCompositor(a.page, 'mix');
  await openCompositor(b.page, 'mix');
  // Select layer in_1 (a click without movement commits nothing).
  for (const page of [a.page, b.page]) {
    await page.getByTestId('layer-in_1').click();
    await expect(page.getByTestId('layer-controls')).toHaveAttribute('data-pin', 'in_1');
  }

  const slider = a.page.getByTestId('layer-opacity-slider');
  const track = await slider.boundingBox();
  if (!track) throw new Error('the opacity slider is not drawn');
  const y = track.y + track.height / 2;
  const x0 = track.x + track.width * 0.1;
  const dx = (track.width * 0.8) / STEPS;
  await a.page.mouse.move(x0, y);
  await a.page.mouse.down();
  // From the pressed value on (the press itself jumps to the pointer, wherever that is).
  const shown = await recordShown(a.page, '[data-testid="layer-opacity-value"]', 'text');
  let seen = echoes.count;
  for (let i = 1; i <= STEPS; i++) {
    await a.page.mouse.move(x0 + i * dx, y);
    if (i % ECHO_EVERY === 0) seen = await waitForEcho(echoes, seen);
  }
  await a.page.mouse.up();
  const values = await shown.stop();

  expect(values).toHaveLength(STEPS + 1);
  expect(regressions(values, 1)).toBe(0);
  const final = (values.at(-1) as number).toFixed(2);
  for (const page of [a.page, b.page]) {
    await expect(page.getByTestId('layer-opacity-value')).toHaveText(final);
  }
  await expect
    .poll(async () => (await pipelineJson(request, id)).nodes.mix?.params)
    .toMatchObject({ layers: { in_1: { opacity: Number(final) } } });
  expect([...a.errors, ...b.errors]).toEqual([]);
});

test('[S6] two users drag two layers at once and neither layer jumps back', async ({
  a,
  b,
  request,
}) => {
  const id = await createSession(request, 'drag two layers', MIX_YAML);
  const echoesA = countEvents(a.page, 'node_view_data', 'mix');
  const echoesB = countEvents(b.page, 'node_view_data', 'mix');
  await openSession(a, id);
  await openSession(b, id);
  await openCompositor(a.page, 'mix');
  await openCompositor(b.page, 'mix');

  const startA = await centreOf(a.page.getByTestId('layer-in_1'));
  const startB = await centreOf(b.page.getByTestId('layer-in_2'));
  const recA = {
    xs: await recordShown(a.page, LAYER_1, 'data-x'),
    ys: await recordShown(a.page, LAYER_1, 'data-y'),
  };
  const recB = {
    xs: await recordShown(b.page, LAYER_2, 'data-x'),
    ys: await recordShown(b.page, LAYER_2, 'data-y'),
  };
  await a.page.mouse.move(startA.x, startA.y);
  await a.page.mouse.down();
  await b.page.mouse.move(startB.x, startB.y);
  await b.page.mouse.down();
  let seenA = echoesA.count;
  let seenB = echoesB.count;
  // Both move at once, step after step: each user's commits reach the server mid-drag of the other.
  for (let i = 1; i <= STEPS; i++) {
    await Promise.all([
      a.page.mouse.move(startA.x + i * 3, startA.y + i),
      b.page.mouse.move(startB.x - i * 3, startB.y - i),
    ]);
    if (i % ECHO_EVERY === 0) {
      seenA = await waitForEcho(echoesA, seenA);
      seenB = await waitForEcho(echoesB, seenB);
    }
  }
  await a.page.mouse.up();
  await b.page.mouse.up();
  const shownA = { xs: await recA.xs.stop(), ys: await recA.ys.stop() };
  const shownB = { xs: await recB.xs.stop(), ys: await recB.ys.stop() };

  expect(regressions(shownA.xs, 1)).toBe(0);
  expect(regressions(shownA.ys, 1)).toBe(0);
  expect(regressions(shownB.xs, -1)).toBe(0);
  expect(regressions(shownB.ys, -1)).toBe(0);
  expect(shownA.xs).toHaveLength(STEPS + 1);
  expect(shownB.xs).toHaveLength(STEPS + 1);

  const finalA = { x: shownA.xs.at(-1), y: shownA.ys.at(-1) };
  const finalB = { x: shownB.xs.at(-1), y: shownB.ys.at(-1) };
  for (const page of [a.page, b.page]) {
    await expect(page.getByTestId('layer-in_1')).toHaveAttribute('data-x', String(finalA.x));
    await expect(page.getByTestId('layer-in_1')).toHaveAttribute('data-y', String(finalA.y));
    await expect(page.getByTestId('layer-in_2')).toHaveAttribute('data-x', String(finalB.x));
    await expect(page.getByTestId('layer-in_2')).toHaveAttribute('data-y', String(finalB.y));
  }
  await expect
    .poll(async () => (await pipelineJson(request, id)).nodes.mix?.params)
    .toMatchObject({
      layers: {
        in_1: { rect: { x: finalA.x, y: finalA.y } },
        in_2: { rect: { x: finalB.x, y: finalB.y } },
      },
    });
  expect([...a.errors, ...b.errors]).toEqual([]);
});
