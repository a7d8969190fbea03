/**
 * The Monitor: node lifecycle states as the engine reports them (E1), and a demand run of a
 * local LLM whose streamed tokens reach every user watching the session (X7).
 */
import { join } from 'node:path';
import { expect } from '@playwright/test';
import { ensureModel, plantedContinuation } from '@patchbay/inference';
import { countEvents, createSession, openSession, screenshot, test } from './helpers/studio';
import { NetworkSwitch } from './helpers/network';

const TONE_YAML = `name: Lifecycle
nodes:
  tone:
    kind: audio::sine
    params: { frequency_hz: 440, duration_ms: 0 }
`;

/** The same session plus an Opus encoder: a codec node created in a worker, off the loop. */
const WITH_ENCODER_YAML = `${TONE_YAML}  enc:
    kind: audio::opus::encoder
    needs: tone
  out:
    kind: core::sink
    needs: enc
`;

function isStateEvent(frame: string, node: string): boolean {
  if (!frame.includes('"node_state"')) return false;
  const f = JSON.parse(frame) as { payload?: { type?: string; node?: string } };
  return f.payload?.type === 'node_state' && f.payload.node === node;
}

test('[E1] the Monitor shows a new node creating, then running', async ({ a, b, request }) => {
  const id = await createSession(request, 'lifecycle', TONE_YAML);
  const net = await NetworkSwitch.install(a.page);
  await openSession(a, id, 'monitor');
  await openSession(b, id, 'monitor');
  await expect(a.page.getByTestId('monitor-state-tone')).toHaveText('running');

  // The registry has no kind whose creation is reliably slow, so A's event stream is paused
  // right after `creating` (every later frame waits, in order): A sees the creating state for
  // as long as a slow creation would show it, while B follows the engine live.
  net.holdControl((frame) => isStateEvent(frame, 'enc') && !frame.includes('"creating"'));
  const put = await request.put(`/api/v1/sessions/${id}/pipeline?format=yaml`, {
    headers: { 'content-type': 'application/yaml' },
    data: WITH_ENCODER_YAML,
  });
  expect(put.status(), await put.text()).toBe(200);

  await expect(a.page.getByTestId('monitor-state-enc')).toHaveText('creating');
  await expect(a.page.getByTestId('node-state-enc')).toHaveAttribute('data-state', 'creating');
  await expect(b.page.getByTestId('monitor-state-enc')).toHaveText('running');
  expect(net.heldCount).toBeGreaterThan(0);
  await expect(a.page.getByTestId('monitor-state-enc')).toHaveText('creating');

  net.release();
  await expect(a.page.getByTestId('monitor-state-enc')).toHaveText('running');
  await expect(a.page.getByTestId('node-state-enc')).toHaveAttribute('data-state', 'running');
  await expect(a.page.getByTestId('monitor-stats-enc')).toBeVisible();
  await screenshot(a.page, 'monitor');
  expect([...a.errors, ...b.errors]).toEqual([]);
});

test('[X7] the token stream of an LLM run appears in both browsers, not only the one that asked', async ({
  a,
  b,
  request,
}) => {
  const dataDir = process.env.PATCHBAY_E2E_DATA;
  if (!dataDir) throw new Error('PATCHBAY_E2E_DATA is not set (the config sets it)');
  // A generated model (never downloaded), written into the server's data directory: the
  // studio has no way to upload one.
  const model = await ensureModel('tiny', join(dataDir, 'models'));
  const modelPath = model.slice(dataDir.length + 1);
  const prompt = 'once upon a';
  const maxTokens = 8;
  const expected = plantedContinuation(prompt, maxTokens).text;
  const id = await createSession(
    request,
    'llm stream',
    `name: Story
nodes:
  model:
    kind: llm::model
    params: { path: ${JSON.stringify(modelPath)} }
  prompt:
    kind: text::input
    params: { text: ${JSON.stringify(prompt)} }
  story:
    kind: llm::inference
    params: { max_tokens: ${maxTokens}, temperature: 0 }
    needs: { model: model, input: prompt }
`,
  );
  const chunksB = countEvents(b.page, 'node_stream', 'story');
  await openSession(a, id, 'monitor');
  await openSession(b, id, 'monitor');

  await a.page.getByTestId('run-demand-story').click();

  for (const u of [a, b]) {
    await expect(u.page.getByTestId('monitor-stream-story')).toHaveText(expected, {
      timeout: 30_000,
    });
    await expect(u.page.getByTestId('run-status-story')).toHaveAttribute(
      'data-status',
      'completed',
    );
    await expect(u.page.getByTestId('run-output-story')).toHaveText(expected);
    await expect(u.page.getByTestId('run-node-model')).toHaveAttribute('data-status', 'completed');
  }
  // B received the text as a stream of pieces (one per generated word), not only the result.
  expect(chunksB.count).toBe(maxTokens);
  await screenshot(b.page, 'monitor-llm-run');
  expect([...a.errors, ...b.errors]).toEqual([]);
});
