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

/**
 * A server's binary WebSocket frame for `payload` (FIN, opcode 2, unmasked): header and payload
 * in one Buffer (RFC 6455 §5.2).
 */
export function binaryFrame(payload: Uint8Array): Buffer {
  const n = payload.byteLength;
  const header = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + n);
  frame[0] = 0x82;
  if (n < 126) frame[1] = n;
  else if (n < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n % 2 ** 32, 6);
  }
  frame.set(payload, header);
  return frame;
}

/** The parts of a `ws` server socket that a frame written straight to its stream needs. */
interface WsInternals {
  _socket?: { writable: boolean; write(chunk: Buffer): boolean };
  _sender?: { _state?: number; _queue?: unknown[] };
}

// A room sends one message object to every connection: it is framed once, here.
const frames = new WeakMap<Uint8Array, Buffer>();

/**
 * Writes a message to the socket's stream as a frame built once per message. ws would build a
 * header and queue two chunks for each of a broadcast's hundreds of sockets; this is one write.
 * Only while ws's sender is idle (no compression and no queued Blob, which this server never
 * uses), so frames stay in order; otherwise, and for anything unexpected, ws sends it.
 */
function sendFramed(raw: WebSocket, data: Uint8Array): void {
  const ws = raw as unknown as WsInternals;
  const socket = ws._socket;
  const sender = ws._sender;
  if (
    socket === undefined ||
    !socket.writable ||
    sender?._state !== 0 ||
    (sender._queue?.length ?? 0) > 0
  ) {
    raw.send(data);
    return;
  }
  let frame = frames.get(data);
  if (frame === undefined) {
    frame = binaryFrame(data);
    frames.set(data, frame);
  }
  socket.write(frame);
}

function socketOf(raw: WebSocket): YjsSocket {
  return {
    send: (data) => {
      if (raw.readyState === raw.OPEN) sendFramed(raw, data);
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
