/**
 * `/yjs/:sessionId`: the y-websocket endpoint on @hono/node-server's own `upgradeWebSocket`.
 *
 * Wiring (main.ts):
 *   const wss = createYjsWebSocketServer({ maxFrameBytes });
 *   app.get('/yjs/:sessionId', createYjsRoute({ rooms, authenticate, sessionExists, logger }));
 *   serve({ fetch: app.fetch, port, websocket: { server: wss } });
 *
 * A refused connection is accepted and then closed with 4401 / 4403 / 4404: an HTTP status on
 * the upgrade is invisible to browsers (they see 1006 and retry for ever), while the stock
 * client stops retrying on a 44xx close.
 */
import { upgradeWebSocket } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import type { WSEvents } from 'hono/ws';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { ErrorCode } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import type { Logger } from '@patchbay/engine';
import type { Identity } from '../host/server-context';
import { checkSessionId } from '../storage/storage';
import { CloseCode } from './room';
import type { YjsSocket } from './room';
import { DEFAULT_MAX_FRAME_BYTES } from './room-manager';
import type { ConnectionHandle, RoomManager } from './room-manager';

export interface YjsRouteOptions {
  readonly rooms: RoomManager;
  /** Who is connecting; an `unauthorized` error closes with 4401, any other with 4403. */
  readonly authenticate: (c: Context) => Promise<Result<Identity>>;
  readonly sessionExists: (sessionId: string) => Promise<boolean>;
  readonly logger: Logger;
}

/** The WebSocket server to hand `serve({ websocket: { server } })`; frames above the limit close with 1009. */
export function createYjsWebSocketServer(
  options: { maxFrameBytes?: number } = {},
): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    perMessageDeflate: false,
  });
}

type Verdict =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly code: number; readonly reason: string };

/** The route handler for `/yjs/:sessionId`. */
export function createYjsRoute(options: YjsRouteOptions): MiddlewareHandler {
  const log = options.logger.child({ mod: 'yjs-route' });

  async function decide(c: Context, sessionId: string): Promise<Verdict> {
    try {
      const who = await options.authenticate(c);
      if (!who.ok) {
        return who.error.code === ErrorCode.unauthorized
          ? { ok: false, code: CloseCode.unauthorized, reason: 'unauthorized' }
          : { ok: false, code: CloseCode.forbidden, reason: 'forbidden' };
      }
      if (checkSessionId(sessionId) !== null || !(await options.sessionExists(sessionId))) {
        return { ok: false, code: CloseCode.notFound, reason: 'no such session' };
      }
      return { ok: true, identity: who.value };
    } catch (cause) {
      log.error({ err: cause }, 'yjs upgrade check failed');
      return { ok: false, code: CloseCode.internalError, reason: 'internal error' };
    }
  }

  return upgradeWebSocket(
    async (c): Promise<WSEvents<unknown>> => {
      const sessionId = c.req.param('sessionId') ?? '';
      const verdict = await decide(c, sessionId);
      if (!verdict.ok) {
        return { onOpen: (_event, ws) => ws.close(verdict.code, verdict.reason) };
      }
      let handle: ConnectionHandle | null = null;
      return {
        onOpen(_event, ws) {
          const raw = ws.raw as WebSocket;
          handle = options.rooms.connect(sessionId, verdict.identity, socketOf(raw));
          const h = handle;
          raw.on('pong', () => h.pong());
        },
        onMessage(event) {
          handle?.receive(event.data as ArrayBuffer | string);
        },
        onClose() {
          handle?.closed();
        },
        onError(event) {
          log.debug({ err: (event as Event & { error?: unknown }).error }, 'yjs socket error');
        },
      };
    },
    { onError: (cause: unknown) => log.error({ err: cause }, 'yjs socket handler failed') },
  );
}

// A close reason is limited to 123 bytes by the protocol (ws throws beyond it).
const MAX_CLOSE_REASON_BYTES = 123;

function socketOf(raw: WebSocket): YjsSocket {
  return {
    send: (data) => {
      if (raw.readyState === raw.OPEN) raw.send(data);
    },
    close: (code, reason) => {
      let short = reason;
      while (Buffer.byteLength(short) > MAX_CLOSE_REASON_BYTES) short = short.slice(0, -1);
      raw.close(code, short);
    },
    terminate: () => raw.terminate(),
    ping: () => {
      if (raw.readyState === raw.OPEN) raw.ping();
    },
    get bufferedAmount() {
      return raw.bufferedAmount;
    },
  };
}
