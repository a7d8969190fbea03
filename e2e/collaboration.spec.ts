/**
 * Two users (two browser contexts) in one session: edits travel between them through the shared
 * document, concurrent edits of one node both survive, undo is per user, the YAML pane is the
 * same everywhere, and an offline user's edits merge when they come back.
 */
import { expect } from '@playwright/test';
import {
  allKeys,
  canvasNode,
  createSession,
  openCompositor,
  openSession,
  pipelineJson,
  pipelineYaml,
  screenshot,
  selectNode,
  setParam,
  test,
} from './helpers/studio';
import { NetworkSwitch } from './helpers/network';

const TONE_YAML = `name: Tone
nodes:
  tone:
    kind: audio::sine
    params: { frequency_hz: 440, duration_ms: 0, amplitude: 0.5 }
    position: { x: 0, y: 0 }
  volume:
    kind: audio::gain
    params: { gain: 0.5 }
    needs: tone
    position: { x: 320, y: 0 }
  speaker:
    kind: core::sink
    needs: volume
    position: { x: 640, y: 0 }
`;

const PIP_YAML = `name: Picture in picture
nodes:
  bg:
    kind: video::colorbars
    params: { width: 320, height: 180, fps: 5 }
    position: { x: 0, y: 0 }
  cam:
    kind: video::colorbars
    params: { width: 160, height: 90, fps: 5 }
    position: { x: 0, y: 200 }
  mix:
    kind: video::compositor
    params:
      width: 640
      height: 360
      fps: 5
      layers:
        in_1: { rect: { x: 400, y: 220, width: 200, height: 112 }, opacity: 0.9 }
    needs: [bg, cam]
    position: { x: 320, y: 80 }
`;

test('a node added in one browser appears in the other', async ({ a, b, request }) => {
  const id = await createSession(request, 'add node', TONE_YAML);
  await openSession(a, id);
  await openSession(b, id);
  await expect(canvasNode(b.page, 'volume')).toBeVisible();

  await a.page.getByTestId('palette-search').fill('gain');
  await a.page.getByTestId('palette-entry-audio::gain').click();

  // The new node takes the first free id of its kind: volume exists, so gain_1.
  await expect(canvasNode(a.page, 'gain_1')).toBeVisible();
  await expect(canvasNode(b.page, 'gain_1')).toBeVisible();
  await expect(canvasNode(b.page, 'gain_1')).toHaveAttribute('data-kind', 'audio::gain');
  await expect
    .poll(async () => (await pipelineJson(request, id)).nodes.gain_1?.kind)
    .toBe('audio::gain');

  await selectNode(a.page, 'volume');
  await screenshot(a.page, 'editor');
  expect([...a.errors, ...b.errors]).toEqual([]);
});

test('two users edit different params of one node at the same moment and both values survive', async ({
  a,
  b,
  request,
}) => {
  const id = await createSession(request, 'concurrent params', TONE_YAML);
  await openSession(a, id);
  await openSession(b, id);
  await selectNode(a.page, 'tone');
  await selectNode(b.page, 'tone');

  await a.page.getByTestId('param-input-frequency_hz').fill('880');
  await b.page.getByTestId('param-input-amplitude').fill('0.25');
  // Both commits leave at once: neither tab has seen the other's edit when it writes its own.
  await Promise.all([
    a.page.getByTestId('param-input-frequency_hz').press('Enter'),
    b.page.getByTestId('param-input-amplitude').press('Enter'),
  ]);

  for (const u of [a, b]) {
    await expect(u.page.getByTestId('param-input-frequency_hz')).toHaveValue('880');
    await expect(u.page.getByTestId('param-input-amplitude')).toHaveValue('0.25');
  }
  await expect
    .poll(async () => (await pipelineJson(request, id)).nodes.tone?.params)
    .toEqual({ frequency_hz: 880, duration_ms: 0, amplitude: 0.25 });
  expect([...a.errors, ...b.errors]).toEqual([]);
});

test("undo in one browser takes back that user's edit and leaves the other user's edit alone", async ({
  a,
  b,
  request,
}) => {
  const id = await createSession(request, 'undo', TONE_YAML);
  await openSession(a, id);
  await openSession(b, id);
  await selectNode(a.page, 'volume');
  await selectNode(b.page, 'tone');

  await setParam(a.page, 'gain', '2');
  await expect
    .poll(async () => (await pipelineJson(request, id)).nodes.volume?.params?.gain)
    .toBe(2);
  // B edits after A, so "undo the last edit in the document" would take B's edit back.
  await setParam(b.page, 'frequency_hz', '660');
  await selectNode(a.page, 'tone');
  await expect(a.page.getByTestId('param-input-frequency_hz')).toHaveValue('660');

  await a.page.getByTestId('undo').click();

  await expect(a.page.getByTestId('param-input-frequency_hz')).toHaveValue('660');
  await expect(b.page.getByTestId('param-input-frequency_hz')).toHaveValue('660');
  await selectNode(a.page, 'volume');
  await selectNode(b.page, 'volume');
  for (const u of [a, b]) await expect(u.page.getByTestId('param-input-gain')).toHaveValue('0.5');
  await expect
    .poll(async () => {
      const p = await pipelineJson(request, id);
      return [p.nodes.volume?.params?.gain, p.nodes.tone?.params?.frequency_hz];
    })
    .toEqual([0.5, 660]);
  // B has nothing of A's to undo, and A's redo brings A's edit back.
  await a.page.getByTestId('redo').click();
  for (const u of [a, b]) await expect(u.page.getByTestId('param-input-gain')).toHaveValue('2');
  expect([...a.errors, ...b.errors]).toEqual([]);
});

test('[S3] the YAML pane shows identical text in both browsers, with no _-prefixed key', async ({
  a,
  b,
  request,
}) => {
  const id = await createSession(request, 'yaml', PIP_YAML);
  await openSession(a, id);
  await openSession(b, id);

  // A stamped compositor edit (S2) puts transient metadata into the shared document.
  await openCompositor(a.page, 'mix');
  const layer = a.page.getByTestId('layer-in_1');
  const box = await layer.boundingBox();
  if (!box) throw new Error('layer in_1 is not drawn');
  await a.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await a.page.mouse.down();
  await a.page.mouse.move(box.x + box.width / 2 - 20, box.y + box.height / 2 - 10, { steps: 4 });
  await a.page.mouse.up();
  const movedX = Number(await layer.getAttribute('data-x'));
  expect(movedX).toBeLessThan(400);
  await expect
    .poll(async () => (await pipelineJson(request, id)).nodes.mix?.params)
    .toMatchObject({ layers: { in_1: { rect: { x: movedX } } } });

  for (const u of [a, b]) await u.page.getByTestId('side-tab-yaml').click();
  const textA = a.page.getByTestId('yaml-text');
  const textB = b.page.getByTestId('yaml-text');
  await expect(textA).toContainText(`x: ${movedX}`);
  await expect(textB).toContainText(`x: ${movedX}`);
  const yamlA = await textA.innerText();
  const yamlB = await textB.innerText();
  expect(yamlA).toBe(yamlB);
  expect(yamlA).not.toMatch(/^\s*-?\s*["']?_/m);
  // The server's export of the stored model is the same text (S3: nothing transient stored).
  expect((await pipelineYaml(request, id)).trimEnd()).toBe(yamlA.trimEnd());
  expect(allKeys(await pipelineJson(request, id)).filter((k) => k.startsWith('_'))).toEqual([]);
  expect([...a.errors, ...b.errors]).toEqual([]);
});

test('a user who goes offline keeps editing, and both users converge after the reconnect', async ({
  a,
  b,
  request,
}) => {
  const id = await createSession(request, 'offline', TONE_YAML);
  const net = await NetworkSwitch.install(a.page);
  await openSession(a, id);
  await openSession(b, id);
  await selectNode(a.page, 'volume');
  await selectNode(b.page, 'volume');

  await net.offline();
  await expect(a.page.getByTestId('status-chip')).toHaveAttribute('data-status', 'offline');

  await setParam(a.page, 'gain', '3');
  await expect(b.page.getByTestId('param-input-gain')).toHaveValue('0.5');
  await selectNode(b.page, 'tone');
  await setParam(b.page, 'frequency_hz', '660');
  await expect
    .poll(async () => (await pipelineJson(request, id)).nodes.tone?.params?.frequency_hz)
    .toBe(660);
  // While A is away, the server and B have B's edit only; A has A's edit only.
  expect((await pipelineJson(request, id)).nodes.volume?.params?.gain).toBe(0.5);
  await expect(a.page.getByTestId('param-input-gain')).toHaveValue('3');

  await net.online();
  await expect(a.page.getByTestId('status-chip')).toHaveAttribute('data-status', 'connected', {
    timeout: 30_000,
  });
  await selectNode(a.page, 'tone');
  await expect(a.page.getByTestId('param-input-frequency_hz')).toHaveValue('660');
  await selectNode(b.page, 'volume');
  await expect(b.page.getByTestId('param-input-gain')).toHaveValue('3');
  await expect
    .poll(async () => {
      const p = await pipelineJson(request, id);
      return [p.nodes.volume?.params?.gain, p.nodes.tone?.params?.frequency_hz];
    })
    .toEqual([3, 660]);
  expect([...a.errors, ...b.errors]).toEqual([]);
});
