/**
 * The first paint of a session's editor page: the server sends the editor already drawn, before
 * the studio's code has run, and the studio then takes over on the same viewport: every node
 * the first paint shows is where the editor draws it, and nothing the editor shows on screen
 * was left out.
 */
import { expect } from '@playwright/test';
import type { Page } from '@playwright/test';
import { createSession, screenshot, selectNode, test, waitConnected } from './helpers/studio';

/** A chain with connections in the middle of a row wide enough that the fitted view leaves nodes off screen. */
function wideYaml(): string {
  const lines = [
    'name: Wide',
    'nodes:',
    '  bg:',
    '    kind: video::colorbars',
    '    position: { x: 0, y: 0 }',
    '  cam:',
    '    kind: video::colorbars',
    '    position: { x: 0, y: 160 }',
    '  mix:',
    '    kind: video::compositor',
    '    needs: [bg, cam]',
    '    position: { x: 280, y: 40 }',
  ];
  for (let i = 0; i < 24; i++) {
    lines.push(
      `  note_${i}:`,
      '    kind: text::input',
      `    position: { x: ${(i - 12) * 260}, y: 420 }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

type Boxes = Record<string, { x: number; y: number; width: number; height: number }>;

/** The on-screen box of each node drawn under `scope` (hidden nodes have none). */
async function nodeBoxes(page: Page, scope: string): Promise<Boxes> {
  return page.evaluate((sel) => {
    const out: Record<string, { x: number; y: number; width: number; height: number }> = {};
    for (const el of Array.from(document.querySelectorAll<HTMLElement>(`${sel} .pb-node`))) {
      const r = el.getBoundingClientRect();
      if (r.width > 0)
        out[el.dataset.nodeId ?? ''] = { x: r.x, y: r.y, width: r.width, height: r.height };
    }
    return out;
  }, scope);
}

/** Ids of the nodes in `boxes` that overlap the canvas `canvas` (a selector). */
async function onScreen(page: Page, canvas: string, boxes: Boxes): Promise<string[]> {
  const c = await page.locator(canvas).first().boundingBox();
  if (!c) throw new Error(`no ${canvas}`);
  return Object.entries(boxes)
    .filter(
      ([, b]) =>
        b.x < c.x + c.width && b.x + b.width > c.x && b.y < c.y + c.height && b.y + b.height > c.y,
    )
    .map(([id]) => id)
    .sort();
}

test('a session page arrives drawn, and the editor takes over where it was drawn', async ({
  a,
  b,
  request,
}) => {
  const id = await createSession(request, 'first paint', wideYaml());

  // A never runs the studio's code: what it shows is the server's first paint alone.
  await a.page.route('**/assets/*.js', (route) => route.abort());
  await a.page.goto(`/s/${id}`);
  const painted = a.page.locator('#pb-first-paint[data-viewport]');
  await expect(painted).toBeVisible();
  await expect(painted.locator('.pb-node[data-node-id="mix"]')).toBeVisible();
  // The connections are drawn between the pins.
  const paths = await painted
    .locator('path.react-flow__edge-path')
    .evaluateAll((ps) => ps.map((p) => p.getAttribute('d') ?? ''));
  expect(paths).toHaveLength(2);
  for (const d of paths) expect(d).toMatch(/^M[\d.-]+,[\d.-]+ C/);
  const first = await nodeBoxes(a.page, '#pb-first-paint');
  // The wide row runs past the canvas: those nodes are left out of the first paint.
  expect(Object.keys(first).length).toBeGreaterThan(3);
  expect(Object.keys(first).length).toBeLessThan(27);
  await screenshot(a.page, 'first-paint');

  // B runs the studio: the first paint is replaced by the live editor, on the same viewport.
  await b.page.goto(`/s/${id}`);
  await waitConnected(b.page);
  await expect(b.page.locator('#pb-first-paint')).toHaveCount(0);
  await expect(b.page.getByTestId('node-mix')).toBeVisible();
  const live = await nodeBoxes(b.page, '[data-testid="canvas"]');
  for (const [node, box] of Object.entries(first)) {
    const drawn = live[node];
    expect(drawn, node).toBeDefined();
    expect(Math.abs((drawn?.x ?? 0) - box.x), node).toBeLessThanOrEqual(1);
    expect(Math.abs((drawn?.y ?? 0) - box.y), node).toBeLessThanOrEqual(1);
    expect(Math.abs((drawn?.width ?? 0) - box.width), node).toBeLessThanOrEqual(1);
  }
  // Every node the editor shows on screen was in the first paint.
  const shownLive = await onScreen(b.page, '[data-testid="canvas"]', live);
  const shownFirst = await onScreen(a.page, '#pb-first-paint .canvas', first);
  expect(shownFirst).toEqual(expect.arrayContaining(shownLive));

  // The editor is live: a click selects the node.
  await selectNode(b.page, 'mix');
  expect(b.errors).toEqual([]);
});
