/**
 * Live previews of raw video outputs (the compositor's above all) for the studio:
 * `GET /api/v1/sessions/:id/nodes/:node/preview` answers the node's latest frame on pin `out`
 * as a small PNG (204 before the first frame). The first request taps the node; a tap nobody
 * asked for in PREVIEW_IDLE_MS is removed, so an unwatched session pays nothing. Frames are
 * kept by reference (packets are immutable) and encoded only when asked for, once per frame
 * however many viewers poll.
 */
import type { Engine, Packet, VideoPacket } from '@patchbay/engine';
import type { Result } from '@patchbay/protocol';
import type { Hono, MiddlewareHandler } from 'hono';
import { errorBody, statusOf } from '../http/http-errors';
import { encodePng, thumbnail } from './thumbnail';

/** A tap with no request for this long is removed. */
export const PREVIEW_IDLE_MS = 15_000;

interface Tap {
  engine: Engine;
  off: () => void;
  latest: VideoPacket | undefined;
  encoded: { frame: VideoPacket; png: Uint8Array } | undefined;
  lastAsked: number;
}

export interface PreviewSessions {
  get(id: string): Promise<Result<{ engine: Engine }>>;
}

export class PreviewHub {
  readonly #taps = new Map<string, Tap>();
  readonly #sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly sessions: PreviewSessions,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#sweeper = setInterval(() => this.sweep(), PREVIEW_IDLE_MS / 3);
    this.#sweeper.unref();
  }

  /** The node's latest frame as PNG, undefined before its first frame. */
  async png(
    sessionId: string,
    nodeId: string,
  ): Promise<Result<{ png: Uint8Array; ptsUs: number } | undefined>> {
    const session = await this.sessions.get(sessionId);
    if (!session.ok) return session;
    const key = `${sessionId}\u0000${nodeId}`;
    let tap = this.#taps.get(key);
    if (tap && tap.engine !== session.value.engine) {
      // The session was reopened with a new engine.
      tap.off();
      tap = undefined;
    }
    if (!tap) {
      const engine = session.value.engine;
      const created: Tap = {
        engine,
        off: () => {},
        latest: undefined,
        encoded: undefined,
        lastAsked: 0,
      };
      created.off = engine.tap(nodeId, 'out', (packet: Packet) => {
        if (packet.type === 'video') created.latest = packet;
      });
      this.#taps.set(key, created);
      tap = created;
    }
    tap.lastAsked = this.now();
    const frame = tap.latest;
    if (!frame) return { ok: true, value: undefined };
    if (tap.encoded?.frame !== frame) {
      const image = thumbnail(frame);
      if (!image) return { ok: true, value: undefined };
      tap.encoded = { frame, png: encodePng(image) };
    }
    return { ok: true, value: { png: tap.encoded.png, ptsUs: frame.ptsUs } };
  }

  /** Removes taps nobody asked for lately. */
  sweep(): void {
    const cutoff = this.now() - PREVIEW_IDLE_MS;
    for (const [key, tap] of this.#taps) {
      if (tap.lastAsked < cutoff) {
        tap.off();
        this.#taps.delete(key);
      }
    }
  }

  get tapCount(): number {
    return this.#taps.size;
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const tap of this.#taps.values()) tap.off();
    this.#taps.clear();
  }
}

export function registerPreviewRoute(
  app: Hono,
  o: { hub: PreviewHub; requireAuth: MiddlewareHandler },
): void {
  app.get('/api/v1/sessions/:id/nodes/:node/preview', o.requireAuth, async (c) => {
    const result = await o.hub.png(c.req.param('id'), c.req.param('node'));
    if (!result.ok) return c.json(errorBody(result.error), statusOf(result.error.code));
    c.header('Cache-Control', 'no-store');
    if (!result.value) return c.body(null, 204);
    c.header('Content-Type', 'image/png');
    c.header('X-Frame-Pts-Us', String(result.value.ptsUs));
    const { png } = result.value;
    return c.body(new Uint8Array(png.buffer as ArrayBuffer, png.byteOffset, png.byteLength));
  });
}
