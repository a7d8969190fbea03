/**
 * `/api/v1/control`: the control WebSocket on @hono/node-server's own `upgradeWebSocket`.
 * The token comes from `Authorization: Bearer` or `?token=`; a refused token is accepted and
 * then closed with 4401 (an HTTP status on the upgrade is invisible to browsers).
 */
import { upgradeWebSocket } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import type { WSEvents } from 'hono/ws';
import type { WebSocket } from 'ws';
import type { Logger } from '@patchbay/engine';
import type { Result } from '@patchbay/protocol';
import type { Identity } from '../host/server-context';
import type { ControlConnectionHandle, ControlHub } from './control-hub';

/** Close code for a connection without a valid token (the stock clients stop retrying on 44xx). */
export const CONTROL_CLOSE_UNAUTHORIZED = 4401;

export interface ControlRouteOptions {
  readonly hub: ControlHub;
  readonly authenticate: (c: Context) => Promise<Result<Identity>>;
  readonly logger: Logger;
}

export function createControlRoute(options: ControlRouteOptions): MiddlewareHandler {
  const log = options.logger.child({ mod: 'control' });
  return upgradeWebSocket(
    async (c): Promise<WSEvents<unknown>> => {
      const who = await options.authenticate(c);
      if (!who.ok) {
        return { onOpen: (_event, ws) => ws.close(CONTROL_CLOSE_UNAUTHORIZED, 'unauthorized') };
      }
      let handle: ControlConnectionHandle | null = null;
      return {
        onOpen(_event, ws) {
          const raw = ws.raw as WebSocket;
          handle = options.hub.connect(who.value, {
            send: (text) => {
              if (raw.readyState === raw.OPEN) raw.send(text);
            },
            bufferedAmount: () => raw.bufferedAmount,
            close: (code, reason) => raw.close(code, reason),
          });
          log.debug({ user: who.value.userId }, 'control connection opened');
        },
        onMessage(event) {
          handle?.receive(event.data as string | ArrayBuffer);
        },
        onClose() {
          handle?.closed();
        },
        onError(event) {
          log.debug({ err: (event as Event & { error?: unknown }).error }, 'control socket error');
        },
      };
    },
    { onError: (cause: unknown) => log.error({ err: cause }, 'control socket handler failed') },
  );
}
