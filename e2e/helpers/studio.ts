/**
 * Shared steps of the studio specs: sessions made over the HTTP API, users as separate browser
 * contexts (each its own tab, connection, nonce and undo history), and waits on what the page
 * shows (never on fixed sleeps).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test as base, expect } from '@playwright/test';
import type { APIRequestContext, Browser, BrowserContext, Locator, Page } from '@playwright/test';

/** Where screenshots go (gitignored); CI keeps the folder as the suite's artifacts. */
export const ARTIFACTS_DIR = join(import.meta.dirname, '..', 'artifacts');

/** The pipeline as `GET …/pipeline?format=json` returns it. */
export interface PipelineJson {
  readonly name?: string;
  readonly nodes: Record<
    string,
    { kind: string; params?: Record<string, unknown>; position?: { x: number; y: number } }
  >;
  readonly connections?: Record<string, unknown>;
}

/** Sessions made by the running test; deleted when it ends, so their engines stop. */
const created = new Set<string>();

/** Creates a session from pipeline YAML; returns its id. */
export async function createSession(
  request: APIRequestContext,
  name: string,
  yaml?: string,
): Promise<string> {
  const res = await request.post('/api/v1/sessions', {
    data: yaml === undefined ? { name } : { name, yaml },
  });
  expect(res.status(), await res.text()).toBe(201);
  const body = (await res.json()) as { id: string };
  created.add(body.id);
  return body.id;
}

/** The stored pipeline of a session, as JSON. */
export async function pipelineJson(request: APIRequestContext, id: string): Promise<PipelineJson> {
  const res = await request.get(`/api/v1/sessions/${id}/pipeline?format=json`);
  expect(res.status()).toBe(200);
  return (await res.json()) as PipelineJson;
}

/** The stored pipeline of a session, as YAML text. */
export async function pipelineYaml(request: APIRequestContext, id: string): Promise<string> {
  const res = await request.get(`/api/v1/sessions/${id}/pipeline?format=yaml`);
  expect(res.status()).toBe(200);
  return res.text();
}

/** One collaborator: a browser context of their own (its own tab, connection, nonce, undo) and a page. */
export interface User {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Messages of uncaught page errors, asserted empty at the end of a spec. */
  readonly errors: string[];
}

/**
 * The suite's `test`, with two users `a` and `b`. Their browser contexts live as long as the
 * worker (a context costs seconds on a busy machine); every test gets fresh pages, and after it
 * the pages are closed, the network restored and every session it created deleted (a running
 * session keeps its sources busy).
 */
export const test = base.extend<{ a: User; b: User; cleanup: void }, { contexts: ContextPair }>({
  contexts: [
    async ({ browser }, use) => {
      const pair = await Promise.all([userContext(browser), userContext(browser)]);
      await use(pair);
      for (const c of pair) await c.close();
    },
    { scope: 'worker' },
  ],
  cleanup: [
    async ({ contexts, request }, use) => {
      await stopDemo(request);
      await use();
      await endTest(contexts, request);
    },
    { auto: true },
  ],
  a: async ({ contexts }, use) => use(await userPage(contexts[0])),
  b: async ({ contexts }, use) => use(await userPage(contexts[1])),
});

type ContextPair = [BrowserContext, BrowserContext];

/** The name of the session the server creates on its first start. */
const DEMO_SESSION_NAME = 'Demo: picture in picture, a tone and an LLM';
let demoStopped = false;

/**
 * Deletes the demo session once: its sources run for the whole suite otherwise, and the specs
 * make their own sessions (the data directory is a fresh temporary one).
 */
async function stopDemo(request: APIRequestContext): Promise<void> {
  if (demoStopped) return;
  demoStopped = true;
  const res = await request.get('/api/v1/sessions');
  const { sessions } = (await res.json()) as { sessions: Array<{ id: string; name?: string }> };
  for (const s of sessions) {
    if (s.name === DEMO_SESSION_NAME) await request.delete(`/api/v1/sessions/${s.id}`);
  }
}

async function userContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1400, height: 900 } });
}

async function userPage(context: BrowserContext): Promise<User> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}

async function endTest(pair: ContextPair, request: APIRequestContext): Promise<void> {
  for (const context of pair) {
    await context.setOffline(false);
    for (const p of context.pages()) await p.close();
  }
  for (const id of created) await request.delete(`/api/v1/sessions/${id}`);
  created.clear();
}

/** Opens the editor (`/s/:id`) or the Monitor of a session and waits until the document is synced. */
export async function openSession(
  user: User,
  sessionId: string,
  view: 'editor' | 'monitor' = 'editor',
): Promise<void> {
  await user.page.goto(view === 'editor' ? `/s/${sessionId}` : `/s/${sessionId}/monitor`);
  await waitConnected(user.page);
}

/** Waits until the status chip reads connected and the document has synced with the server. */
export async function waitConnected(page: Page): Promise<void> {
  await expect(page.getByTestId('status-chip')).toHaveAttribute('data-status', 'connected');
  await expect(page.getByTestId('session')).toHaveAttribute('data-synced', 'true');
}

/** The canvas node `id` in a page. */
export function canvasNode(page: Page, id: string): Locator {
  return page.getByTestId(`node-${id}`);
}

/** Clicks a node on the canvas so the inspector (or compositor tab) edits it. */
export async function selectNode(page: Page, id: string): Promise<void> {
  await page.getByTestId(`node-title-${id}`).click();
  await expect(page.getByTestId('inspector')).toHaveAttribute('data-node-id', id);
}

/** Selects a compositor node and opens the compositor tab. */
export async function openCompositor(page: Page, id: string): Promise<void> {
  await selectNode(page, id);
  await page.getByTestId('side-tab-compositor').click();
  await expect(page.getByTestId('compositor-editor')).toHaveAttribute('data-node-id', id);
}

/** Types a value into a number/text param of the inspector and commits it (Enter blurs). */
export async function setParam(page: Page, path: string, value: string): Promise<void> {
  const input = page.getByTestId(`param-input-${path}`);
  await input.fill(value);
  await input.press('Enter');
}

/** Saves a full-page screenshot into the artifacts folder. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
}

/** Keys of every object in `value`, recursively (to look for `_`-prefixed metadata). */
export function allKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(allKeys);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...allKeys(v)]);
}

/** Counts one kind of control event for one node, as it arrives on a page's control socket. */
export interface EventCounter {
  readonly count: number;
  /** The latest event's payload (for view data, `data` is the compositor's resolved layout). */
  readonly last: Record<string, unknown> | undefined;
}

/** Starts counting `type` events for `node`; call before the page opens the session. */
export function countEvents(page: Page, type: string, node: string): EventCounter {
  const counter: { count: number; last: Record<string, unknown> | undefined } = {
    count: 0,
    last: undefined,
  };
  page.on('websocket', (ws) => {
    if (!ws.url().includes('/api/v1/control')) return;
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string' || !payload.includes(`"${type}"`)) return;
      const frame = JSON.parse(payload) as { type?: string; payload?: Record<string, unknown> };
      if (frame.type !== 'event' || frame.payload?.type !== type) return;
      if (frame.payload.node !== node) return;
      counter.count++;
      counter.last = frame.payload;
    });
  });
  return counter;
}

/** A layer box's output-pixel position as the compositor editor draws it. */
export async function layerPosition(page: Page, pin: string): Promise<{ x: number; y: number }> {
  const box = page.getByTestId(`layer-${pin}`);
  const [x, y] = await Promise.all([box.getAttribute('data-x'), box.getAttribute('data-y')]);
  return { x: Number(x), y: Number(y) };
}

/** The centre of a locator on screen. */
export async function centreOf(locator: Locator): Promise<{ x: number; y: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error('element is not drawn');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** How many times a series moves against the direction it should (0 = never jumps back). */
export function regressions(values: readonly number[], direction: 1 | -1): number {
  let n = 0;
  for (let i = 1; i < values.length; i++) {
    if (((values[i] as number) - (values[i - 1] as number)) * direction < 0) n++;
  }
  return n;
}

/** The rect of `pin` in a compositor's `node_view_data` event, if it has one. */
export function viewRect(
  event: Record<string, unknown> | undefined,
  pin: string,
): { x: number; y: number } | undefined {
  const data = event?.data as
    { layers?: Array<{ pin?: string; rect?: { x: number; y: number } }> } | undefined;
  const layers = data?.layers;
  const rect = layers?.find((l) => l.pin === pin)?.rect;
  return rect ? { x: rect.x, y: rect.y } : undefined;
}

/**
 * Records, in the page, every numeric value an attribute (or, with `'text'`, the text) of the
 * element matching `selector` shows, from now until `stop()`: every rendered change, not only
 * samples, so a snap back that lasts a single frame is caught too.
 */
export async function recordShown(
  page: Page,
  selector: string,
  what: string,
): Promise<{ stop: () => Promise<number[]> }> {
  const key = `${selector}:${what}`;
  await page.evaluate(
    ([selector, what, key]) => {
      const w = window as unknown as Record<string, unknown>;
      const values: number[] = [];
      const read = (): void => {
        const el = document.querySelector(selector);
        if (!el) return;
        const v = Number(what === 'text' ? el.textContent : el.getAttribute(what));
        if (values.at(-1) !== v) values.push(v);
      };
      read();
      const observer = new MutationObserver(read);
      observer.observe(document.body, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      });
      w[`__record:${key}`] = { values, observer };
    },
    [selector, what, key] as const,
  );
  return {
    stop: () =>
      page.evaluate((key) => {
        const w = window as unknown as Record<string, unknown>;
        const r = w[`__record:${key}`] as { values: number[]; observer: MutationObserver };
        r.observer.disconnect();
        return r.values;
      }, key),
  };
}
