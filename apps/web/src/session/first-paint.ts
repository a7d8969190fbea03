/**
 * The server's first paint of a session's editor page: `#pb-first-paint`, the editor as static
 * HTML drawn from the document (apps/server/src/web/first-paint.ts) and fitted to the window by
 * `index.html`, on screen before this code has loaded. The canvas opens on the viewport it
 * fitted, so nothing moves when the studio takes over, and the overlay goes once the canvas has
 * drawn the session, or as soon as the page shows something else.
 */
import { useEffect } from 'react';

const FIRST_PAINT_ID = 'pb-first-paint';

export interface Viewport {
  readonly x: number;
  readonly y: number;
  readonly zoom: number;
}

function element(): HTMLElement | null {
  return typeof document === 'undefined' ? null : document.getElementById(FIRST_PAINT_ID);
}

/** Whether the first paint of `sessionId` is on screen. */
export function hasFirstPaint(sessionId: string): boolean {
  return element()?.dataset.sessionId === sessionId;
}

/** The viewport the first paint of `sessionId` was fitted to, if it is on screen. */
export function firstPaintViewport(sessionId: string): Viewport | undefined {
  const el = element();
  if (el?.dataset.sessionId !== sessionId) return undefined;
  const [x, y, zoom, ...rest] = (el.dataset.viewport ?? '').split(',').map(Number);
  if (x === undefined || y === undefined || zoom === undefined || rest.length > 0) return undefined;
  if (![x, y, zoom].every(Number.isFinite) || zoom <= 0) return undefined;
  return { x, y, zoom };
}

/** Removes the first paint (nothing when there is none). */
export function dismissFirstPaint(): void {
  element()?.remove();
}

/**
 * Removes the first paint of `sessionId` at the first frame where `drawn()` holds, checked each
 * frame while `ready`: the studio's own drawing is then painted in its place.
 */
export function useDismissFirstPaintWhen(
  sessionId: string,
  ready: boolean,
  drawn: () => boolean,
): void {
  useEffect(() => {
    if (!ready || !hasFirstPaint(sessionId)) return;
    let frame = requestAnimationFrame(function check() {
      if (drawn()) dismissFirstPaint();
      else frame = requestAnimationFrame(check);
    });
    return () => cancelAnimationFrame(frame);
  }, [sessionId, ready, drawn]);
}
