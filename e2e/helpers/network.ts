/**
 * Network control for one user's page. `context.setOffline(true)` stops new connections but
 * leaves an open WebSocket up in Chromium, so every studio socket (`/yjs/…`,
 * `/api/v1/control`) of the page is routed through Playwright: going offline closes the live
 * ones, and reconnect attempts fail in the browser itself (ERR_INTERNET_DISCONNECTED) until the
 * user is back online. Routing costs a hop per frame, so only the specs that need it install it.
 */
import type { BrowserContext, Page, WebSocketRoute } from '@playwright/test';

const STUDIO_SOCKETS = /\/(yjs\/[^/?]+|api\/v1\/control)(\?|$)/;

/** Holds server → page control frames while `hold` says so (to pause a session's event stream). */
export type ControlGate = (frame: string) => boolean;

export class NetworkSwitch {
  readonly #context: BrowserContext;
  readonly #live = new Set<WebSocketRoute>();
  #gate: ControlGate | undefined;
  readonly #held: Array<{ route: WebSocketRoute; frame: string }> = [];

  private constructor(context: BrowserContext) {
    this.#context = context;
  }

  /** Installs the routes on `page` (they end with it); call before it opens a session. */
  static async install(page: Page): Promise<NetworkSwitch> {
    const sw = new NetworkSwitch(page.context());
    await page.routeWebSocket(STUDIO_SOCKETS, (ws) => sw.#route(ws));
    return sw;
  }

  /** Cuts the user off: open sockets close, new ones fail until `online()`. */
  async offline(): Promise<void> {
    await this.#context.setOffline(true);
    const open = [...this.#live];
    this.#live.clear();
    for (const ws of open) await ws.close({ code: 1001, reason: 'network lost' });
  }

  async online(): Promise<void> {
    await this.#context.setOffline(false);
  }

  /**
   * From now on, control frames for which `hold` is true, and every frame after the first one
   * held, wait (in order) until `release()`.
   */
  holdControl(hold: ControlGate): void {
    this.#gate = hold;
  }

  /** Delivers the held control frames in order and stops holding. */
  release(): void {
    this.#gate = undefined;
    for (const { route, frame } of this.#held.splice(0)) route.send(frame);
  }

  /** How many control frames are held now. */
  get heldCount(): number {
    return this.#held.length;
  }

  #route(ws: WebSocketRoute): void {
    const server = ws.connectToServer();
    this.#live.add(ws);
    if (!ws.url().includes('/api/v1/control')) return;
    // Forward by hand so frames can be held; page → server stays automatic.
    server.onMessage((m) => {
      const frame = typeof m === 'string' ? m : m.toString('utf8');
      if (this.#held.length > 0 || (this.#gate?.(frame) ?? false)) {
        this.#held.push({ route: ws, frame });
        return;
      }
      ws.send(frame);
    });
  }
}
