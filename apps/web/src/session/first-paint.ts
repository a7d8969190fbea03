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

/** The viewport the first paint was fitted to, and the size of the canvas it was fitted in. */
export interface FirstPaintView {
  readonly viewport: Viewport;
  readonly canvas: { readonly width: number; readonly height: number };
}

/** Comma-separated finite numbers, exactly `count` of them. */
function numbers(text: string | undefined, count: number): number[] | undefined {
  const values = (text ?? '').split(',').map(Number);
  return values.length === count && values.every(Number.isFinite) ? values : undefined;
}

function element(): HTMLElement | null {
  return typeof document === 'undefined' ? null : document.getElementById(FIRST_PAINT_ID);
}

/** Whether the first paint of `sessionId` is on screen. */
export function hasFirstPaint(sessionId: string): boolean {
  return element()?.dataset.sessionId === sessionId;
}

/** The view the first paint of `sessionId` was fitted to, if it is on screen. */
export function firstPaintView(sessionId: string): FirstPaintView | undefined {
  const el = element();
  if (el?.dataset.sessionId !== sessionId) return undefined;
  const v = numbers(el.dataset.viewport, 3);
  const c = numbers(el.dataset.canvas, 2);
  if (!v || !c) return undefined;
  const [x, y, zoom] = v as [number, number, number];
  const [width, height] = c as [number, number];
  if (zoom <= 0 || width <= 0 || height <= 0) return undefined;
  return { viewport: { x, y, zoom }, canvas: { width, height } };
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
