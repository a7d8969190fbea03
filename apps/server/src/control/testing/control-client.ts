/**
 * A control-API client for tests: a real `ws` WebSocket to `/api/v1/control`, requests with
 * ids matched to their responses, and every event and unsolicited error recorded.
 */
import WebSocket from 'ws';
import { parseServerMessage } from '@patchbay/protocol';
import type {
  ControlEvent,
  ControlRequestInput,
  ControlResponsePayload,
  ErrorPayload,
} from '@patchbay/protocol';

export class ControlClient {
  readonly ws: WebSocket;
  readonly events: ControlEvent[] = [];
  /**
   * Responses that answer no request of `request()`: refused document edits (errors without
   * an id) and answers to raw frames sent with `sendRaw`.
   */
  readonly unmatched: ControlResponsePayload[] = [];
  /** Frames the client could not parse (there should be none). */
  readonly garbage: string[] = [];
  closeCode: number | undefined;
  #next = 1;
  readonly #pending = new Map<string | number, (p: ControlResponsePayload) => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const text = data.toString();
      const parsed = parseServerMessage(text);
      if (!parsed.ok) {
        this.garbage.push(text);
        return;
      }
      const frame = parsed.value;
      if (frame.type === 'event') {
        this.events.push(frame.payload);
        return;
      }
      if (frame.id !== undefined && this.#pending.has(frame.id)) {
        const resolve = this.#pending.get(frame.id)!;
        this.#pending.delete(frame.id);
        resolve(frame.payload);
      } else {
        this.unmatched.push(frame.payload);
      }
    });
    ws.on('close', (code) => {
      this.closeCode = code;
    });
  }

  /** Connects (`?token=`) and resolves once open. */
  static open(baseUrl: string, token?: string): Promise<ControlClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/v1/control${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    const ws = new WebSocket(url);
    const client = new ControlClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a request and resolves with its response payload. */
  request(payload: ControlRequestInput): Promise<ControlResponsePayload> {
    const id = `req-${this.#next++}`;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.ws.send(JSON.stringify({ type: 'request', id, payload }));
    });
  }

  /** Sends any frame as is (its answer lands in `unmatched`). */
  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Error responses that answer no request: refused document edits. */
  refusals(): ErrorPayload[] {
    return this.unmatched.filter((p): p is ErrorPayload => p.type === 'error');
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** Polls until `check` holds; fails naming `what` after `timeoutMs`. Not a timing assertion. */
export async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
