/**
 * One open session in the browser: its Y.Doc over `/yjs/<id>` (stock y-websocket provider),
 * this tab's edit origin, its stamper (S1: a new nonce on every reconnect) and its own undo
 * manager (only this tab's edits are undone, never someone else's).
 */
import { ClientStamper } from '@patchbay/protocol';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { socketUrl } from '../api/token';
import { OFFLINE_AFTER_ATTEMPTS } from './control-client';
import type { LinkStatus } from './control-client';
import { createUndoManager } from './undo';

/** The identity the server stamps on this tab's awareness (S: awareness is not trusted from clients). */
export interface PresenceUser {
  readonly id: string;
  readonly name: string;
  readonly color: string;
}

/** What each tab publishes in awareness (the server adds `user`). */
export interface PresenceState {
  readonly user?: PresenceUser;
  /** Pointer in canvas (flow) coordinates. */
  readonly cursor?: { readonly x: number; readonly y: number } | null;
  readonly selection?: readonly string[];
  /** What the user is dragging right now: a node, or a compositor layer of a node. */
  readonly dragging?: { readonly node: string; readonly layer?: string } | null;
}

export interface SessionConnectionOptions {
  readonly sessionId: string;
  readonly randomUuid?: () => string;
  /** Base of the Yjs socket (`ws://host/yjs`); the room is the session id. */
  readonly yjsUrl?: string;
  /** Another WebSocket implementation (tests). */
  readonly WebSocketPolyfill?: typeof WebSocket;
}

export class SessionConnection {
  readonly sessionId: string;
  readonly doc = new Y.Doc();
  /** The origin of every transaction this tab makes; the undo manager tracks only it. */
  readonly origin: object;
  readonly provider: WebsocketProvider;
  readonly stamper: ClientStamper;
  readonly undo: Y.UndoManager;
  #status: LinkStatus = 'connecting';
  #everConnected = false;
  #synced = false;
  #refused: string | undefined;
  #version = 0;
  #docVersion = 0;
  #presenceVersion = 0;
  readonly #listeners = new Set<() => void>();
  readonly #randomUuid: () => string;

  constructor(o: SessionConnectionOptions) {
    this.sessionId = o.sessionId;
    this.origin = { session: o.sessionId, tab: 'local' };
    this.#randomUuid = o.randomUuid ?? (() => crypto.randomUUID());
    this.stamper = new ClientStamper(this.#randomUuid);
    this.undo = createUndoManager(this.doc, this.origin);
    // Counted from the start, so a view that subscribes late still sees that something changed.
    this.doc.on('update', () => this.#docVersion++);
    const url = new URL(o.yjsUrl ?? socketUrl('/yjs'));
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) params[k] = v;
    url.search = '';
    this.provider = new WebsocketProvider(
      url.toString().replace(/\/$/, ''),
      o.sessionId,
      this.doc,
      {
        params,
        ...(o.WebSocketPolyfill ? { WebSocketPolyfill: o.WebSocketPolyfill } : {}),
      },
    );
    this.provider.awareness.on('change', () => this.#presenceVersion++);
    this.provider.on('status', ({ status }: { status: string }) => {
      if (status === 'connected') {
        // S1: every reconnect is a new connection with a new nonce and fresh revisions.
        if (this.#everConnected) this.stamper.reconnect(this.#randomUuid());
        this.#everConnected = true;
        this.#setStatus('connected');
      } else {
        this.#setStatus(
          this.provider.wsUnsuccessfulReconnects >= OFFLINE_AFTER_ATTEMPTS
            ? 'offline'
            : 'connecting',
        );
      }
    });
    // Emitted before the provider counts this failure, hence the + 1.
    this.provider.on('connection-close', () => {
      if (this.provider.wsUnsuccessfulReconnects + 1 >= OFFLINE_AFTER_ATTEMPTS)
        this.#setStatus('offline');
    });
    // 44xx: the server refused for good (a bad token, or no such session); the provider stops.
    this.provider.on('closed', (e: { code: number; reason: string }) => {
      this.#refused = refusalMessage(e.code, e.reason);
      this.#setStatus('offline');
      this.#emit();
    });
    this.provider.on('sync', (synced: boolean) => {
      if (synced && !this.#synced) performance.mark('patchbay:document-synced');
      this.#synced = synced;
      this.#emit();
    });
    this.undo.on('stack-item-added', () => this.#emit());
    this.undo.on('stack-item-popped', () => this.#emit());
    this.undo.on('stack-cleared', () => this.#emit());
  }

  get status(): LinkStatus {
    return this.#status;
  }

  /** Why the server refused this connection for good (bad token, no such session), if it did. */
  get refused(): string | undefined {
    return this.#refused;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Bumped on every status, sync or undo-stack change. */
  get version(): number {
    return this.#version;
  }

  /** Bumped on every document update since this connection was made. */
  get docVersion(): number {
    return this.#docVersion;
  }

  /** Bumped on every presence (awareness) change since this connection was made. */
  get presenceVersion(): number {
    return this.#presenceVersion;
  }

  /** Listen for status, sync and undo-stack changes. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Publish part of this tab's presence. */
  setPresence<K extends keyof PresenceState>(key: K, value: PresenceState[K]): void {
    this.provider.awareness.setLocalStateField(key, value);
  }

  /** Other tabs' presence, by awareness client id. */
  peers(): Map<number, PresenceState> {
    const out = new Map<number, PresenceState>();
    for (const [id, state] of this.provider.awareness.getStates()) {
      if (id === this.provider.awareness.clientID) continue;
      out.set(id, state as PresenceState);
    }
    return out;
  }

  /** Start a new undo step now (call at pointer-down, so a gesture never merges with the last one). */
  beginGesture(): void {
    this.undo.stopCapturing();
  }

  destroy(): void {
    this.undo.destroy();
    this.provider.destroy();
    this.doc.destroy();
    this.#listeners.clear();
  }

  #setStatus(s: LinkStatus): void {
    if (s === this.#status) return;
    this.#status = s;
    this.#emit();
  }

  #emit(): void {
    this.#version++;
    for (const l of this.#listeners) l();
  }
}

/** What a permanent close (4401 / 4403 / 4404 / other 44xx) means to the user. */
export function refusalMessage(code: number, reason: string): string {
  switch (code) {
    case 4401:
      return `unauthorized: ${reason || 'a valid token is required'}`;
    case 4403:
      return `forbidden: ${reason || 'your role may not open this session'}`;
    case 4404:
      return `not_found: ${reason || 'this session does not exist (it may have been deleted)'}`;
    default:
      return `refused (${code}): ${reason || 'the server closed the connection'}`;
  }
}
