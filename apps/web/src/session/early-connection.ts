/**
 * The session a page load opens, connected before React's first render: the document syncs
 * over the network while the studio's code runs and draws, instead of after it.
 */
import { adoptingWebSocket, takeEarlySocket } from './early-socket';
import { SessionConnection } from './session-connection';

let early: SessionConnection | undefined;

/** Starts connecting to `sessionId` now; the session page adopts the connection when it mounts. */
export function openEarly(sessionId: string): void {
  early?.destroy();
  const socket = takeEarlySocket();
  early = new SessionConnection({
    sessionId,
    ...(socket ? { WebSocketPolyfill: adoptingWebSocket(socket) } : {}),
  });
}

/** The early connection to `sessionId`, if one is waiting (it stays waiting). */
export function peekEarly(sessionId: string): SessionConnection | undefined {
  return early?.sessionId === sessionId ? early : undefined;
}

/**
 * Hands over the early connection to `sessionId` (once). An early connection to another
 * session is closed: the user went elsewhere before it was used.
 */
export function takeEarly(sessionId: string): SessionConnection | undefined {
  const c = early;
  early = undefined;
  if (c?.sessionId === sessionId) return c;
  c?.destroy();
  return undefined;
}
