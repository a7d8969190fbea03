/**
 * The studio in Chromium against the real server: a compositor layer dragged with the mouse at
 * 60 Hz for 60 s (`WEB_DRAG_SECONDS` for a shorter run) while the running pipeline (two
 * colorbars into a compositor) streams view data and the live preview back. Counts the main
 * thread's long tasks (> 50 ms, the Long Tasks API) during the drag; the target is zero.
 *
 * Needs the built studio (`npx vite build apps/web`) and Chromium (`PATCHBAY_CHROMIUM`, default
 * /usr/bin/chromium). The server (apps/server/src/main.ts) runs as its own process on a
 * temporary data directory, started by path (a benchmark does not import an app).
 */
import { startStudio } from './studio-server';
import type { Page } from '@playwright/test';

const DURATION_S = Number(process.env.WEB_DRAG_SECONDS ?? 60);
const MOVE_HZ = 60;
/** Frame rate of the sources and the compositor while the layer is dragged. */
const FPS = Number(process.env.WEB_DRAG_FPS ?? 30);
/** Pixels the pointer moves per step; it sweeps back and forth across the stage. */
const STEP_PX = 3;

const PIPELINE_YAML = `name: Drag benchmark
nodes:
  bars_1:
    kind: video::colorbars
    params: { width: 320, height: 180, fps: ${FPS} }
    position: { x: 0, y: 0 }
  bars_2:
    kind: video::colorbars
    params: { width: 320, height: 180, fps: ${FPS} }
    position: { x: 0, y: 200 }
  mix:
    kind: video::compositor
    params:
      width: 640
      height: 360
      fps: ${FPS}
      layers:
        in_1: { rect: { x: 40, y: 40, width: 200, height: 112 }, opacity: 0.9 }
        in_2: { rect: { x: 400, y: 228, width: 200, height: 112 } }
    needs: [bars_1, bars_2]
    position: { x: 320, y: 100 }
`;

/**
 * Installed before the studio's code runs: every long task of the page's main thread, and
 * every animation frame, from navigation on (`buffered` keeps tasks seen before observing).
 */
const OBSERVE_LONG_TASKS = `(() => {
  const w = window;
  w.__longTasks = [];
  w.__frames = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, ms: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  const frame = (t) => { w.__frames.push(t); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})()`;

interface PageFigures {
  readonly longTasks: Array<{ start: number; ms: number }>;
  readonly frames: number[];
}

async function pageFigures(page: Page): Promise<PageFigures> {
  return (await page.evaluate(
    '({ longTasks: window.__longTasks, frames: window.__frames })',
  )) as PageFigures;
}

const round = (v: number): number => Math.round(v * 10) / 10;
const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

async function main(): Promise<void> {
  const studio = await startStudio('patchbay-web-drag-');
  const { browser, url: serverUrl } = studio;
  try {
    const id = await studio.createSession('drag bench', PIPELINE_YAML);

    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await page.addInitScript(OBSERVE_LONG_TASKS);
    let viewData = 0;
    page.on('websocket', (ws) => {
      if (!ws.url().includes('/api/v1/control')) return;
      ws.on('framereceived', ({ payload }) => {
        if (typeof payload === 'string' && payload.includes('"node_view_data"')) viewData++;
      });
    });
    await page.goto(`${serverUrl}/s/${id}`);
    await page.waitForSelector('[data-testid="session"][data-synced="true"]');
    await page.click('[data-testid="node-title-mix"]');
    await page.waitForSelector('[data-testid="inspector"][data-node-id="mix"]');
    await page.click('[data-testid="side-tab-compositor"]');
    await page.waitForSelector('[data-testid="compositor-editor"][data-node-id="mix"]');
    // The pipeline is running and its picture is on the stage before the drag starts.
    await page.waitForSelector('[data-testid="compositor-live-frame"].live', { timeout: 60_000 });

    const stage = await page.getByTestId('compositor-stage').boundingBox();
    const layer = await page.getByTestId('layer-in_1').boundingBox();
    if (!stage || !layer) throw new Error('the compositor stage is not drawn');
    const startX = layer.x + layer.width / 2;
    const y = layer.y + layer.height / 2;
    const minX = stage.x + layer.width / 2;
    const maxX = stage.x + stage.width - layer.width / 2;
    const startData = Number(await page.getByTestId('layer-in_1').getAttribute('data-x'));

    const viewDataBefore = viewData;
    // How many positions the dragged layer shows (it follows the pointer, not the echoes).
    await page.evaluate(`(() => {
      const el = document.querySelector('[data-testid="layer-in_1"]');
      window.__shown = 0;
      new MutationObserver(() => { window.__shown++; })
        .observe(el, { attributes: true, attributeFilter: ['data-x'] });
    })()`);
    await page.mouse.move(startX, y);
    await page.mouse.down();
    const dragStart = (await page.evaluate('performance.now()')) as number;
    const t0 = performance.now();
    const interval = 1000 / MOVE_HZ;
    let x = startX;
    let dir = 1;
    let moves = 0;
    let late = 0;
    // A move resolves when the page has handled it; up to two are in flight, so the round trip
    // to the browser does not lower the rate below 60 Hz (they are delivered in order).
    const inFlight: Array<Promise<void>> = [];
    while (performance.now() - t0 < DURATION_S * 1000) {
      if (x + dir * STEP_PX > maxX || x + dir * STEP_PX < minX) dir = -dir;
      x += dir * STEP_PX;
      inFlight.push(page.mouse.move(x, y));
      if (inFlight.length >= 2) await inFlight.shift();
      moves++;
      // Paced on the schedule, not after each move: a slow step shortens the next wait.
      const wait = t0 + moves * interval - performance.now();
      if (wait > 0) await sleep(wait);
      else late++;
    }
    await Promise.all(inFlight);
    const dragEnd = (await page.evaluate('performance.now()')) as number;
    await page.mouse.up();
    const elapsedS = (performance.now() - t0) / 1000;
    const endData = Number(await page.getByTestId('layer-in_1').getAttribute('data-x'));
    const positionsShown = (await page.evaluate('window.__shown')) as number;

    const figures = await pageFigures(page);
    const during = figures.longTasks.filter((t) => t.start >= dragStart && t.start < dragEnd);
    const frames = figures.frames.filter((t) => t >= dragStart && t < dragEnd);
    let longestGap = 0;
    for (let i = 1; i < frames.length; i++)
      longestGap = Math.max(longestGap, (frames[i] as number) - (frames[i - 1] as number));
    process.stdout.write(
      `${JSON.stringify({
        bench: 'web-drag-longtasks',
        duration_s: round(elapsedS),
        move_hz: MOVE_HZ,
        moves,
        late_moves: late,
        source_fps: FPS,
        view_data_events: viewData - viewDataBefore,
        positions_shown: positionsShown,
        layer_moved_px: round(Math.abs(endData - startData)),
        long_tasks: during.length,
        longest_ms: round(Math.max(0, ...during.map((t) => t.ms))),
        total_long_ms: round(during.reduce((s, t) => s + t.ms, 0)),
        frames_per_s: round(frames.length / ((dragEnd - dragStart) / 1000)),
        longest_frame_gap_ms: round(longestGap),
        long_tasks_before_drag: figures.longTasks.filter((t) => t.start < dragStart).length,
      })}\n`,
    );
  } finally {
    await studio.close();
  }
}

await main();
