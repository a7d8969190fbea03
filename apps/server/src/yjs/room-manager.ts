/**
 * Loads, shares and unloads session rooms. A room is loaded from storage before any connection
 * is answered, lives while it has connections or refs, and is unloaded (after its updates are
 * stored) when it has neither.
 */
import * as Y from 'yjs';
import { ErrorCode, err, ok, problem } from '@patchbay/protocol';
import type { Problem, Result } from '@patchbay/protocol';
import type { Logger } from '@patchbay/engine';
import type { Identity, ServerMetrics } from '../host/server-context';
import { checkSessionId } from '../storage/storage';
import type { Storage } from '../storage/storage';
import { encodeAwarenessMessage } from './wire';
import { CloseCode, Room, RoomConnection, YjsMetric } from './room';
import type { YjsSocket } from './room';

/** Default largest inbound frame; a bigger one closes the connection with 1009. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Default ping period. The stock client also drops a socket silent for 30 s; see keepalive. */
export const DEFAULT_PING_INTERVAL_MS = 10_000;
/** Default wait before an unused room is unloaded (a page reload finds it still loaded). */
export const DEFAULT_UNLOAD_DELAY_MS = 2_000;
/** Frames a connection may send before its room has loaded. */
export const MAX_PENDING_FRAMES = 256;

/** The origin of the transaction that replays stored updates into a freshly loaded room. */
export const LOAD_ORIGIN = Object.freeze({ kind: 'load' as const });

// An awareness message with no entries: a no-op for the client, but it counts as traffic for
// the stock client's 30 s silence watchdog, which never sees WebSocket pings.
const KEEPALIVE = encodeAwarenessMessage(new Uint8Array([0]));

export interface RoomManagerOptions {
  readonly storage: Storage;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly maxFrameBytes?: number;
  readonly pingIntervalMs?: number;
  readonly unloadDelayMs?: number;
  /** How long an awareness renewal may wait to be relayed (AWARENESS_RENEWAL_MAX_DELAY_MS). */
  readonly awarenessRenewalMaxDelayMs?: number;
}

/** A hold on a session's live document; the room stays loaded until every ref is released. */
export interface RoomRef {
  readonly sessionId: string;
  /**
   * The live document. Changes made to it with any origin are stored, then broadcast. Which
   * connection made a change: `isClientOrigin(transaction.origin)` in 'afterTransaction'.
   */
  readonly doc: Y.Doc;
  /** Resolves once every change made so far is stored and broadcast. */
  flushed(): Promise<Result<void>>;
  /**
   * Called once if the room is dropped under the holder: storing failed (storage_failed) or
   * the session was evicted (not_found). The doc is dead then; acquire again to continue.
   */
  onInvalidated(listener: (problem: Problem) => void): () => void;
  /** Idempotent. */
  release(): void;
}

/** The transport side of one connection: feed it frames, pongs and the close. */
export interface ConnectionHandle {
  readonly connectionId: string;
  receive(data: ArrayBuffer | Uint8Array | string): void;
  pong(): void;
  /** The socket closed (either side). */
  closed(): void;
}

interface RoomEntry {
  readonly sessionId: string;
  users: number;
  loading: Promise<Result<Room>>;
  room: Room | null;
  unloadTimer: ReturnType<typeof setTimeout> | null;
  unloading: boolean;
  /** Set by evict() while the room is still loading: the load ends in this failure. */
  evicted: Problem | null;
  readonly refs: Set<(problem: Problem) => void>;
}

export class RoomManager {
  private readonly rooms = new Map<string, RoomEntry>();
  private readonly connections = new Set<RoomConnection>();
  private readonly pinned = new WeakMap<RoomConnection, RoomEntry>();
  private readonly log: Logger;
  private readonly maxFrameBytes: number;
  private readonly unloadDelayMs: number;
  private readonly pingTimer: ReturnType<typeof setInterval>;
  private loadedRooms = 0;
  private closing = false;

  constructor(private readonly options: RoomManagerOptions) {
    this.log = options.logger.child({ mod: 'yjs' });
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.unloadDelayMs = options.unloadDelayMs ?? DEFAULT_UNLOAD_DELAY_MS;
    this.pingTimer = setInterval(
      () => this.pingAll(),
      options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    );
    this.pingTimer.unref();
    this.publishGauges();
  }

  /** Loaded rooms and open connections. */
  stats(): { rooms: number; connections: number } {
    return { rooms: this.loadedRooms, connections: this.connections.size };
  }

  /** Holds a session's room (loading it if needed) until `release()`. */
  async acquire(sessionId: string): Promise<Result<RoomRef>> {
    const bad = checkSessionId(sessionId);
    if (bad) return err(bad);
    if (this.closing) return err(problem(ErrorCode.internal, 'the room server is shutting down'));
    const entry = this.pin(sessionId);
    const loaded = await entry.loading;
    if (!loaded.ok || loaded.value.failure) {
      this.unpin(entry);
      return loaded.ok ? err(loaded.value.failure as Problem) : loaded;
    }
    const room = loaded.value;
    const listeners = new Set<(problem: Problem) => void>();
    const notify = (p: Problem) => {
      for (const l of [...listeners]) l(p);
    };
    entry.refs.add(notify);
    let released = false;
    return ok({
      sessionId,
      doc: room.doc,
      flushed: () => room.flushed(),
      onInvalidated(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      release: () => {
        if (released) return;
        released = true;
        entry.refs.delete(notify);
        this.unpin(entry);
      },
    });
  }

  /**
   * Attaches a WebSocket to a session's room. The caller has authenticated it and checked the
   * session exists. Frames that arrive before the room has loaded are kept and handled after
   * the server's greeting.
   */
  connect(sessionId: string, identity: Identity, socket: YjsSocket): ConnectionHandle {
    const conn = new RoomConnection(sessionId, identity, socket, (c) => this.detach(c));
    this.connections.add(conn);
    this.publishGauges();
    if (this.closing) {
      conn.close(CloseCode.goingAway, 'server shutting down');
    } else {
      const entry = this.pin(sessionId);
      this.pinned.set(conn, entry);
      void entry.loading.then((loaded) => {
        if (conn.closed) return;
        if (!loaded.ok || loaded.value.failure) {
          const failure = loaded.ok ? (loaded.value.failure as Problem) : loaded.error;
          conn.close(closeCodeFor(failure), failure.message);
          return;
        }
        loaded.value.join(conn);
      });
    }
    return {
      connectionId: conn.id,
      receive: (data) => this.receive(conn, data),
      pong: () => {
        conn.alive = true;
      },
      closed: () => this.detach(conn),
    };
  }

  /** Waits until every update made so far in every loaded room is stored and broadcast. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.rooms.values()].map((e) => e.room?.flushed()));
  }

  /**
   * Drops a session's room without storing anything more: its connections are closed with
   * 4404 and its refs invalidated. For a session that was deleted.
   */
  evict(sessionId: string): void {
    const entry = this.rooms.get(sessionId);
    if (!entry) return;
    const failure = problem(ErrorCode.not_found, `session ${sessionId} was deleted`);
    if (entry.room) this.drop(entry, failure);
    else {
      // Still loading: nobody has been answered yet; the load ends in this failure.
      entry.evicted = failure;
      this.rooms.delete(sessionId);
    }
  }

  /** Closes every connection (1001), stores what is pending, unloads every room. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.pingTimer);
    for (const conn of [...this.connections]) {
      conn.close(CloseCode.goingAway, 'server shutting down');
    }
    await Promise.all(
      [...this.rooms.values()].map(async (entry) => {
        const loaded = await entry.loading;
        if (!loaded.ok) return;
        await loaded.value.flushed();
        if (this.rooms.get(entry.sessionId) === entry) this.unloadNow(entry);
      }),
    );
  }

  private receive(conn: RoomConnection, data: ArrayBuffer | Uint8Array | string): void {
    if (conn.closed) return;
    conn.alive = true;
    if (typeof data === 'string') {
      this.options.metrics.incCounter(YjsMetric.rejectedFrames, { reason: 'text' });
      conn.close(CloseCode.unsupportedData, 'binary frames only');
      return;
    }
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    if (bytes.byteLength > this.maxFrameBytes) {
      this.options.metrics.incCounter(YjsMetric.rejectedFrames, { reason: 'too_large' });
      conn.close(CloseCode.tooLarge, `frames are limited to ${this.maxFrameBytes} bytes`);
      return;
    }
    if (conn.room) {
      conn.room.receive(conn, bytes);
    } else if (conn.pending.length < MAX_PENDING_FRAMES) {
      conn.pending.push(bytes);
    } else {
      conn.close(CloseCode.tryAgainLater, 'too many frames before the document loaded');
    }
  }

  /** Idempotent: takes a connection out of its room and the manager. */
  private detach(conn: RoomConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.pending = [];
    conn.room?.leave(conn);
    this.connections.delete(conn);
    const entry = this.pinned.get(conn);
    if (entry) {
      this.pinned.delete(conn);
      this.unpin(entry);
    }
    this.publishGauges();
  }

  private pin(sessionId: string): RoomEntry {
    let entry = this.rooms.get(sessionId);
    if (!entry) {
      const created: RoomEntry = {
        sessionId,
        users: 0,
        loading: Promise.resolve(err(problem(ErrorCode.internal, 'not loaded'))),
        room: null,
        unloadTimer: null,
        unloading: false,
        evicted: null,
        refs: new Set(),
      };
      created.loading = this.load(created);
      this.rooms.set(sessionId, created);
      entry = created;
    }
    entry.users++;
    if (entry.unloadTimer) {
      clearTimeout(entry.unloadTimer);
      entry.unloadTimer = null;
    }
    return entry;
  }

  private unpin(entry: RoomEntry): void {
    entry.users--;
    this.scheduleUnload(entry);
  }

  /** Starts the unload countdown of a loaded room nobody uses. */
  private scheduleUnload(entry: RoomEntry): void {
    if (entry.users > 0 || !entry.room || this.rooms.get(entry.sessionId) !== entry) return;
    if (entry.unloadTimer) clearTimeout(entry.unloadTimer);
    entry.unloadTimer = setTimeout(() => {
      entry.unloadTimer = null;
      void this.unload(entry);
    }, this.unloadDelayMs);
  }

  /**
   * Replays the stored document into a new Y.Doc before anyone is answered: a client that
   * synced against a half-loaded doc would take it for the truth. A failed load leaves no room.
   */
  private async load(entry: RoomEntry): Promise<Result<Room>> {
    const sessionId = entry.sessionId;
    let stored;
    try {
      stored = await this.options.storage.loadUpdates(sessionId);
    } catch (cause) {
      this.log.error({ err: cause, session: sessionId }, 'room load threw');
      stored = err(problem(ErrorCode.storage_failed, 'loading the document failed'));
    }
    const forget = (failure: Problem): Result<Room> => {
      if (this.rooms.get(sessionId) === entry) this.rooms.delete(sessionId);
      return err(failure);
    };
    if (!stored.ok) return forget(stored.error);
    if (entry.evicted) return forget(entry.evicted);
    const doc = new Y.Doc();
    try {
      const { snapshot, updates } = stored.value;
      doc.transact(() => {
        if (snapshot) Y.applyUpdate(doc, snapshot);
        for (const u of updates) Y.applyUpdate(doc, u);
      }, LOAD_ORIGIN);
    } catch (cause) {
      doc.destroy();
      this.log.error({ err: cause, session: sessionId }, 'stored document is corrupt');
      return forget(problem(ErrorCode.storage_failed, 'the stored document is corrupt'));
    }
    const room = new Room(sessionId, doc, {
      storage: this.options.storage,
      log: this.log.child({ session: sessionId }),
      metrics: this.options.metrics,
      onFailure: (_room, failure) => this.drop(entry, failure),
      ...(this.options.awarenessRenewalMaxDelayMs !== undefined
        ? { awarenessRenewalMaxDelayMs: this.options.awarenessRenewalMaxDelayMs }
        : {}),
    });
    entry.room = room;
    this.loadedRooms++;
    this.publishGauges();
    // Everyone who waited for it may have left during the load.
    this.scheduleUnload(entry);
    return ok(room);
  }

  private async unload(entry: RoomEntry): Promise<void> {
    const room = entry.room;
    if (!room || entry.unloading) return;
    entry.unloading = true;
    try {
      // New updates may arrive while storing (a user joined and left): wait until none do.
      while (!room.idle && room.failure === null) await room.flushed();
    } finally {
      entry.unloading = false;
    }
    if (entry.users > 0 || this.rooms.get(entry.sessionId) !== entry || room.failure) return;
    this.unloadNow(entry);
  }

  private unloadNow(entry: RoomEntry): void {
    this.rooms.delete(entry.sessionId);
    if (entry.unloadTimer) clearTimeout(entry.unloadTimer);
    entry.unloadTimer = null;
    if (entry.room) {
      entry.room.destroy();
      entry.room = null;
      this.loadedRooms--;
    }
    this.publishGauges();
  }

  /** Drops a room at once (storage failed, or its session is gone). */
  private drop(entry: RoomEntry, failure: Problem): void {
    const room = entry.room;
    if (!room) return;
    if (this.rooms.get(entry.sessionId) === entry) this.rooms.delete(entry.sessionId);
    room.failure ??= failure;
    for (const conn of [...room.connections]) conn.close(closeCodeFor(failure), failure.message);
    for (const notify of [...entry.refs]) notify(failure);
    entry.refs.clear();
    entry.room = null;
    room.destroy();
    this.loadedRooms--;
    this.publishGauges();
  }

  private pingAll(): void {
    for (const conn of [...this.connections]) {
      if (!conn.alive) {
        conn.socket.terminate();
        this.detach(conn);
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
      if (conn.room) conn.send(KEEPALIVE);
    }
  }

  private publishGauges(): void {
    this.options.metrics.setGauge(YjsMetric.rooms, {}, this.loadedRooms);
    this.options.metrics.setGauge(YjsMetric.connections, {}, this.connections.size);
  }
}

/** How a connection learns its room is gone: 4404 (permanent) or 1011 (the client retries). */
function closeCodeFor(failure: Problem): number {
  return failure.code === ErrorCode.not_found ? CloseCode.notFound : CloseCode.internalError;
}
