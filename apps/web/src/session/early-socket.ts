/**
 * The document socket index.html opens before the studio's code has loaded, handed to the
 * y-websocket provider as if it had just opened it: the provider gets the messages that arrived
 * meanwhile (the server's sync step 1, awareness, and the document it sent in answer to the
 * page's early sync step 1) in order, then `open`. Any later socket (a reconnect) is a new one.
 */

/** What index.html leaves on `window.__patchbayEarlySocket`. */
export interface EarlySocketRecord {
  readonly url: string;
  readonly ws: WebSocket;
  readonly received: unknown[];
}

type Handler<E extends Event> = ((e: E) => void) | null;

/** `WebSocket.OPEN` (the constant, so this module loads where WebSocket is not a global). */
const OPEN = 1;

/** The part of the WebSocket interface y-websocket uses, backed by an already opened socket. */
class AdoptedSocket {
  // y-websocket compares `readyState` with the instance's constants before it sends.
  readonly CONNECTING = 0;
  readonly OPEN = OPEN;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  onopen: Handler<Event> = null;
  onmessage: Handler<MessageEvent> = null;
  onclose: Handler<CloseEvent> = null;
  onerror: Handler<Event> = null;
  readonly #ws: WebSocket;

  constructor(early: EarlySocketRecord) {
    const ws = early.ws;
    this.#ws = ws;
    ws.onclose = (e) => this.onclose?.(e);
    ws.onerror = (e) => this.onerror?.(e);
    // The provider sets its handlers right after construction; start after that.
    queueMicrotask(() => {
      if (ws.readyState === OPEN) {
        // Received before the provider existed: delivered first, then `open`, all in this task,
        // so nothing that arrives later can overtake them.
        for (const data of early.received.splice(0))
          this.onmessage?.(new MessageEvent('message', { data }));
        ws.onmessage = (e) => this.onmessage?.(e);
        this.onopen?.(new Event('open'));
      } else {
        // Still connecting: the provider's own `open` sends its sync step 1.
        ws.onmessage = (e) => this.onmessage?.(e);
        ws.onopen = (e) => this.onopen?.(e);
      }
    });
  }

  get readyState(): number {
    return this.#ws.readyState;
  }

  get url(): string {
    return this.#ws.url;
  }

  get binaryType(): BinaryType {
    return this.#ws.binaryType;
  }

  set binaryType(t: BinaryType) {
    this.#ws.binaryType = t;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    this.#ws.send(data as Parameters<WebSocket['send']>[0]);
  }

  close(code?: number, reason?: string): void {
    this.#ws.close(code, reason);
  }
}

/**
 * A WebSocket constructor for the provider: its first socket to `early.url` is the early one
 * (when still open or opening); every other socket is a new WebSocket.
 */
export function adoptingWebSocket(
  early: EarlySocketRecord | undefined,
  Fallback: typeof WebSocket = WebSocket,
): typeof WebSocket {
  let pending = early;
  function AdoptingWebSocket(url: string | URL, protocols?: string | string[]): object {
    const e = pending;
    pending = undefined;
    if (e && e.url === String(url) && e.ws.readyState <= OPEN) return new AdoptedSocket(e);
    e?.ws.close();
    return new Fallback(url, protocols);
  }
  return AdoptingWebSocket as unknown as typeof WebSocket;
}

/** Takes the early socket index.html opened, if any (once). */
export function takeEarlySocket(): EarlySocketRecord | undefined {
  const w = window as { __patchbayEarlySocket?: EarlySocketRecord };
  const early = w.__patchbayEarlySocket;
  delete w.__patchbayEarlySocket;
  return early;
}
