/**
 * The `/api/v1/control` client: requests answered by id, the session's events, unsolicited
 * errors (the server refused one of this user's document edits), and automatic reconnect with
 * jitter that re-subscribes to every watched session.
 */
import { parseControlResult, parseServerMessage } from '@patchbay/protocol';
import type {
  ControlEvent,
  ControlRequestInput,
  ControlRequestType,
  ControlResult,
  ErrorPayload,
  Problem,
  Result,
} from '@patchbay/protocol';
import { reconnectDelay } from './backoff';

export type LinkStatus = 'connecting' | 'connected' | 'offline';

/** A control-API failure: the server's error payload, or a local one (closed connection). */
export type ControlError = Pick<ErrorPayload, 'code' | 'message' | 'node' | 'problems'>;

/** How long a request waits for its response before failing. */
export const CONTROL_REQUEST_TIMEOUT_MS = 30_000;
/** Failed attempts after which the link reads as offline rather than connecting. */
export const OFFLINE_AFTER_ATTEMPTS = 2;

interface Pending {
  readonly type: ControlRequestType;
  readonly resolve: (r: Result<unknown, ControlError>) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface ControlClientOptions {
  /** The socket URL (with `?token=`), asked again on each reconnect. */
  readonly url: () => string;
}

export class ControlClient {
  readonly #o: ControlClientOptions;
  #ws: WebSocket | undefined;
  #nextId = 1;
  #attempt = 0;
  #status: LinkStatus = 'connecting';
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #pending = new Map<number, Pending>();
  readonly #sessions = new Map<string, number>();
  readonly #eventListeners = new Set<(e: ControlEvent) => void>();
  readonly #errorListeners = new Set<(e: ControlError) => void>();
  readonly #statusListeners = new Set<(s: LinkStatus) => void>();
  readonly #openListeners = new Set<() => void>();

  constructor(options: ControlClientOptions) {
    this.#o = options;
    this.#open();
  }

  get status(): LinkStatus {
    return this.#status;
  }

  /** Send a request; resolves with its checked result, or the error the server (or the link) gave. */
  request<T extends ControlRequestType>(
    payload: ControlRequestInput & { type: T },
  ): Promise<Result<ControlResult<T>, ControlError>> {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.resolve({
        ok: false,
        error: { code: 'internal', message: 'not connected to the server; try again shortly' },
      });
    }
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve({ ok: false, error: { code: 'internal', message: `${payload.type}: no answer` } });
      }, CONTROL_REQUEST_TIMEOUT_MS);
      this.#pending.set(id, {
        type: payload.type,
        resolve: resolve as (r: Result<unknown, ControlError>) => void,
        timer,
      });
      ws.send(JSON.stringify({ type: 'request', id, payload }));
    });
  }

  /** Receive `session`'s events while the returned function is not called (kept across reconnects). */
  watch(session: string): () => void {
    const n = this.#sessions.get(session) ?? 0;
    this.#sessions.set(session, n + 1);
    if (n === 0) void this.request({ type: 'subscribe', session });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.#sessions.get(session) ?? 1) - 1;
      if (left > 0) {
        this.#sessions.set(session, left);
        return;
      }
      this.#sessions.delete(session);
      void this.request({ type: 'unsubscribe', session });
    };
  }

  onEvent(listener: (e: ControlEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Errors the server sent without a request (e.g. "your edit was undone"). */
  onError(listener: (e: ControlError) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  onStatus(listener: (s: LinkStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Called on every (re)connect, after subscriptions were renewed. */
  onOpen(listener: () => void): () => void {
    this.#openListeners.add(listener);
    return () => this.#openListeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#ws?.close(1000);
    this.#failPending('the control connection was closed');
  }

  #setStatus(s: LinkStatus): void {
    if (s === this.#status) return;
    this.#status = s;
    for (const l of this.#statusListeners) l(s);
  }

  #open(): void {
    if (this.#closed) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#o.url());
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      this.#attempt = 0;
      this.#setStatus('connected');
      for (const session of this.#sessions.keys())
        void this.request({ type: 'subscribe', session });
      for (const l of this.#openListeners) l();
    };
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') this.#receive(m.data);
    };
    ws.onclose = (e) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      this.#failPending('the control connection was lost');
      // 44xx: the server refused the token; retrying cannot help.
      if (e.code >= 4400 && e.code < 4500) {
        this.#closed = true;
        this.#setStatus('offline');
        for (const l of this.#errorListeners)
          l({
            code: e.code === 4403 ? 'forbidden' : 'unauthorized',
            message: e.reason || 'refused',
          });
        return;
      }
      this.#scheduleReconnect();
    };
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    this.#attempt++;
    this.#setStatus(this.#attempt >= OFFLINE_AFTER_ATTEMPTS ? 'offline' : 'connecting');
    this.#timer = setTimeout(() => this.#open(), reconnectDelay(this.#attempt - 1));
  }

  #failPending(message: string): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, error: { code: 'internal', message } });
      this.#pending.delete(id);
    }
  }

  #receive(text: string): void {
    const parsed = parseServerMessage(text);
    if (!parsed.ok) return;
    const frame = parsed.value;
    if (frame.type === 'event') {
      for (const l of this.#eventListeners) l(frame.payload);
      return;
    }
    const id = typeof frame.id === 'number' ? frame.id : undefined;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    const payload = frame.payload;
    if (!pending) {
      if (payload.type === 'error') for (const l of this.#errorListeners) l(payload);
      return;
    }
    this.#pending.delete(id as number);
    clearTimeout(pending.timer);
    if (payload.type === 'error') {
      pending.resolve({ ok: false, error: payload });
      return;
    }
    const result = parseControlResult(pending.type, payload.result);
    pending.resolve(result.ok ? result : { ok: false, error: problemError(result.error) });
  }
}

function problemError(p: Problem): ControlError {
  return p.node === undefined
    ? { code: p.code, message: p.message }
    : { code: p.code, message: p.message, node: p.node };
}
