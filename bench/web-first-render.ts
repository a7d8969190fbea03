/**
 * The studio in Chromium against the real server: first render of a 200-node session, then
 * edit → other browser latency.
 *
 * - `first_render_ms`: navigation start → the first frame painted with every node the canvas
 *   shows drawn, whether by the server's first paint of the page or by the live editor.
 * - `editor_ready_ms`: navigation start → the first frame painted with the live editor drawing
 *   those nodes (the first paint gone): from then on the page takes input.
 * - Both are read in the page: each animation frame counts the nodes drawn, and a task queued
 *   from that frame stamps the time (it runs once the frame is painted). The count to reach is
 *   the number of nodes the live editor finally shows on screen.
 * - Loads alternate between pages with the first paint and without it (`without_first_paint`:
 *   the page URL carries no token, so the server sends the plain page, and the studio connects
 *   with the token it finds stored); each figure is the median of `WEB_BENCH_LOADS` (3) cold loads.
 * - `blank_page_ms` is the same kind of measure for an empty page (the server's `/healthz`): the
 *   part no studio code can shorten.
 *
 * The edits: 100 by default
 * (a text param typed in A's inspector and committed with Enter, until B's inspector shows it;
 * both tabs in one browser, so one clock).
 *
 * Needs the built studio (`npx vite build apps/web`) and Chromium (`PATCHBAY_CHROMIUM`, default
 * /usr/bin/chromium). The server (apps/server/src/main.ts) runs as its own process on a
 * temporary data directory, started by path (a benchmark does not import an app).
 */
import { startStudio } from './studio-server';
import type { Page } from '@playwright/test';

const NODES = 200;
const EDITS = Number(process.env.WEB_BENCH_EDITS ?? 100);
/** Cold loads of each kind (with and without the first paint); the figures are medians. */
const LOADS = Number(process.env.WEB_BENCH_LOADS ?? 3);
const TOKEN = 'bench-token';
/** A node in the middle of the grid: the canvas fits the graph around it, so it is on screen. */
const EDITED = 'text_110';

function pipelineYaml(): string {
  const lines = ['name: Two hundred nodes', 'nodes:'];
  for (let i = 0; i < NODES; i++) {
    const x = (i % 20) * 260;
    const y = Math.floor(i / 20) * 140;
    lines.push(
      `  text_${i}:`,
      '    kind: text::input',
      `    params: { text: "node ${i}" }`,
      `    position: { x: ${x}, y: ${y} }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] as number;
}

const round = (v: number): number => Math.round(v * 10) / 10;

async function waitSynced(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid="status-chip"][data-status="connected"]');
  await page.waitForSelector('[data-testid="session"][data-synced="true"]');
}

/** The page's own record of each frame: [time, first-paint nodes, live nodes, first paint up]. */
const FRAME_RECORDER = `(() => {
  const frames = (window.__frames = []);
  const tick = () => {
    const first = document.querySelector('#pb-first-paint[data-viewport]');
    const painted = first ? first.querySelectorAll('.react-flow__node:not([hidden])').length : 0;
    const live = document.querySelectorAll('#root .react-flow .pb-node').length;
    const covered = document.getElementById('pb-first-paint') !== null;
    setTimeout(() => frames.push([performance.now(), painted, live, covered]));
    if (frames.length < 20000) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()`;

/** Where a load's time went: the studio's performance marks and resource timing. */
const PHASES = `(() => {
  const at = (name) => performance.getEntriesByName(name)[0]?.startTime;
  const nav = performance.getEntriesByType('navigation')[0];
  // The scripts index.html names (requested while the page was parsed), not later chunks.
  const scripts = performance
    .getEntriesByType('resource')
    .filter((r) => r.name.endsWith('.js') && r.startTime <= (nav?.domInteractive ?? 0));
  return {
    html_ms: nav?.responseEnd,
    scripts_loaded_ms: Math.max(...scripts.map((r) => r.responseEnd)),
    first_contentful_paint_ms: at('first-contentful-paint'),
    first_paint_parsed_ms: at('patchbay:first-paint-parsed'),
    first_paint_frame_ms: at('patchbay:first-paint-frame'),
    document_received_ms: at('patchbay:document-received'),
    studio_code_running_ms: at('patchbay:studio-code-running'),
    document_synced_ms: at('patchbay:document-synced'),
  };
})()`;

interface Load {
  readonly page: Page;
  readonly firstRenderMs: number;
  readonly editorReadyMs: number;
  readonly onScreen: number;
  readonly phases: Record<string, number | undefined>;
}

const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((x, y) => x - y),
    50,
  );

async function main(): Promise<void> {
  // With a token, a page URL without one gets the plain page (no first paint) while the studio
  // still connects with the token it stored: the same server serves both kinds of load.
  const studio = await startStudio('patchbay-web-bench-', { token: TOKEN });
  const { browser, url: serverUrl } = studio;
  try {
    const id = await studio.createSession('bench', pipelineYaml());
    const open = async (): Promise<Page> => {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      return context.newPage();
    };

    /** One cold load of the editor, with the server's first paint or without it. */
    const load = async (firstPaint: boolean): Promise<Load> => {
      const page = await open();
      await page.addInitScript(FRAME_RECORDER);
      if (!firstPaint)
        await page.addInitScript(`localStorage.setItem('patchbay.token', '${TOKEN}')`);
      const query = firstPaint ? `?token=${TOKEN}` : '';
      await page.goto(`${serverUrl}/s/${id}${query}`, { waitUntil: 'commit' });
      await waitSynced(page);
      await page.waitForFunction(
        `!document.getElementById('pb-first-paint') &&
          document.querySelectorAll('#root .react-flow .pb-node').length > 0`,
        undefined,
        { timeout: 120_000 },
      );
      await page.waitForTimeout(500);
      // The nodes the live editor shows on screen: what both renders must draw.
      const onScreen = (await page.evaluate(`(() => {
        const c = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
        return [...document.querySelectorAll('#root .react-flow .pb-node')].filter((e) => {
          const r = e.getBoundingClientRect();
          return r.right > c.left && r.left < c.right && r.bottom > c.top && r.top < c.bottom;
        }).length;
      })()`)) as number;
      const frames = (await page.evaluate('window.__frames')) as Array<
        [number, number, number, boolean]
      >;
      const firstRenderMs = frames.find(
        ([, painted, live, covered]) => (covered ? painted : live) >= onScreen,
      )?.[0];
      const editorReadyMs = frames.find(([, , live, covered]) => !covered && live >= onScreen)?.[0];
      if (firstRenderMs === undefined || editorReadyMs === undefined)
        throw new Error('the page never drew the session');
      const phases = (await page.evaluate(PHASES)) as Record<string, number | undefined>;
      return { page, firstRenderMs, editorReadyMs, onScreen, phases };
    };

    // Loads alternate between the two kinds, so both see the same machine.
    const withPaint: Load[] = [];
    const without: Load[] = [];
    for (let i = 0; i < LOADS; i++) {
      for (const [kind, list] of [
        [true, withPaint],
        [false, without],
      ] as const) {
        const l = await load(kind);
        list.push(l);
        await l.page.context().close();
      }
    }
    const summary = (loads: readonly Load[]) => ({
      first_render_ms: round(median(loads.map((l) => l.firstRenderMs))),
      editor_ready_ms: round(median(loads.map((l) => l.editorReadyMs))),
      runs: loads.map((l) => [round(l.firstRenderMs), round(l.editorReadyMs)]),
    });
    const phases = (withPaint[withPaint.length - 1] as Load).phases;

    // The same measure for a page with nothing in it (the server's /healthz JSON): what a new
    // renderer, the navigation and this harness cost before any of the studio's work.
    const blank = await open();
    await blank.goto(`${serverUrl}/healthz`, { waitUntil: 'commit' });
    const blankMs = (await (
      await blank.waitForFunction(
        `document.readyState === 'complete' && performance.now()`,
        undefined,
        {
          polling: 'raf',
        },
      )
    ).jsonValue()) as number;
    await blank.context().close();

    const a = await open();
    const b = await open();
    for (const page of [a, b]) {
      await page.goto(`${serverUrl}/s/${id}?token=${TOKEN}`);
      await waitSynced(page);
    }
    for (const page of [a, b]) {
      await page.click(`[data-testid="node-title-${EDITED}"]`);
      await page.waitForSelector(`[data-testid="inspector"][data-node-id="${EDITED}"]`);
    }

    // A stamps the wall clock when Enter goes down (before the commit); B watches its inspector
    // field every frame and stamps the first frame that shows the value.
    await a.evaluate(`window.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') window.__sentAt = performance.timeOrigin + performance.now();
    }, true)`);
    const field = '[data-testid="param-input-text"]';
    const latencies: number[] = [];
    for (let i = 1; i <= EDITS; i++) {
      const value = `edit ${i}`;
      const seen = b.waitForFunction(
        `document.querySelector('${field}')?.value === ${JSON.stringify(value)} &&
          performance.timeOrigin + performance.now()`,
        undefined,
        { polling: 'raf', timeout: 30_000 },
      );
      await a.fill(field, value);
      await a.press(field, 'Enter');
      const seenAt = (await (await seen).jsonValue()) as number;
      const sentAt = (await a.evaluate('window.__sentAt')) as number;
      latencies.push(seenAt - sentAt);
    }
    latencies.sort((x, y) => x - y);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'web-first-render',
        nodes: NODES,
        ...summary(withPaint),
        without_first_paint: summary(without),
        nodes_on_screen: (withPaint[0] as Load).onScreen,
        blank_page_ms: round(blankMs),
        phases_ms: Object.fromEntries(
          Object.entries(phases).map(([k, v]) => [k, v === undefined ? null : round(v)]),
        ),
        edits: EDITS,
        edit_to_other_browser_ms: {
          p50: round(percentile(latencies, 50)),
          p99: round(percentile(latencies, 99)),
          max: round(latencies.at(-1) as number),
        },
      })}\n`,
    );
  } finally {
    await studio.close();
  }
}

await main();
