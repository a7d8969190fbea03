/**
 * One session's live document: its connections, its awareness, and the queue that makes every
 * update durable before any other connection sees it.
 */
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import {
  Awareness,
  applyAwarenessUpdate,
  encodeAwarenessUpdate,
  removeAwarenessStates,
} from 'y-protocols/awareness';
import { ErrorCode, err, ok, problem } from '@patchbay/protocol';
import type { Problem, Result } from '@patchbay/protocol';
import type { Logger } from '@patchbay/engine';
import { canWrite } from '../host/server-context';
import type { Identity, ServerMetrics } from '../host/server-context';
import type { Storage } from '../storage/storage';
import {
  encodeAwarenessEntries,
  encodeAwarenessMessage,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  parseFrame,
} from './wire';
import type { AwarenessEntry } from './wire';

/** A connection may introduce at most this many awareness client ids (one per tab is usual). */
export const MAX_AWARENESS_CLIENTS_PER_CONNECTION = 8;
/** Updates a connection may send ahead of its step 2 (see Room.applyClientUpdate). */
export const MAX_HELD_UPDATES = 256;
/**
 * Awareness is relayed to every connection, and every stock client echoes what it receives, so
 * relaying each entry at once costs n² messages when n clients change together (a room that
 * filled up at once renews all at once: with 200 clients, 40,000 sends and 40,000 echoes in a
 * second or two, stalling the room's updates). So entries are coalesced. A change (cursor,
 * join, leave) goes at once when the previous change relay is AWARENESS_CHANGE_INTERVAL_MS old,
 * else with the next one at that interval.
 */
export const AWARENESS_CHANGE_INTERVAL_MS = 50;
/**
 * A renewal (a client re-sending an unchanged state so others keep it; the stock client does
 * every 15–18 s, and drops a state not renewed for 30 s) is paced instead: every
 * AWARENESS_RENEWAL_PACE_MS a share of the waiting renewals goes out, sized so that none waits
 * longer than AWARENESS_RENEWAL_MAX_DELAY_MS. Clients that joined together renew together;
 * relayed as they arrive, each client would apply all of them at once (200 clients: 200
 * entries, then the same 200 encoded again for its echo), in one go per renewal round.
 * Spread over seconds, that work becomes a few entries per message. A renewal relayed
 * 6 s late still arrives 24 s after the previous one at most, inside the 30 s.
 */
export const AWARENESS_RENEWAL_PACE_MS = 250;
/** See AWARENESS_RENEWAL_PACE_MS. */
export const AWARENESS_RENEWAL_MAX_DELAY_MS = 6000;
/** A connection whose unsent data exceeds this is too slow to follow the room and is closed. */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** WebSocket close codes the room server uses. 44xx are permanent for the stock client. */
export const CloseCode = {
  goingAway: 1001,
  unsupportedData: 1003,
  tooLarge: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  badMessage: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  notFound: 4404,
} as const;

/** Metric names (gauges and counters through ServerMetrics). */
export const YjsMetric = {
  rooms: 'patchbay_yjs_rooms',
  connections: 'patchbay_yjs_connections',
  updates: 'patchbay_yjs_updates_total',
  rejectedFrames: 'patchbay_yjs_rejected_frames_total',
  /** Summary (ms): from an update applied to the room until it was stored and sent to all. */
  fanout: 'patchbay_yjs_fanout_ms',
} as const;

/**
 * The transaction origin of every update a client sends: which connection and who. The bridge
 * reads it as `transaction.origin` in the document's 'afterTransaction' event.
 */
export interface ClientOrigin {
  readonly kind: 'client';
  readonly connectionId: string;
  readonly identity: Identity;
}

export function isClientOrigin(origin: unknown): origin is ClientOrigin {
  return (
    typeof origin === 'object' && origin !== null && (origin as ClientOrigin).kind === 'client'
  );
}

/** What the room server needs of a WebSocket. */
export interface YjsSocket {
  send(data: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake (a peer that stopped answering). */
  terminate(): void;
  ping(): void;
  /** Bytes queued but not yet sent. */
  readonly bufferedAmount: number;
}

/** One client connection, from accept to close. */
export class RoomConnection {
  readonly id = randomUUID();
  readonly origin: ClientOrigin;
  /** Awareness client ids this connection introduced; only it may update them. */
  readonly clientIds = new Set<number>();
  room: Room | null = null;
  /** Frames that arrived while the room was loading. */
  pending: Uint8Array[] = [];
  closed = false;
  alive = true;
  toldReadOnly = false;
  /** Whether the client has answered the server's step 1 (its first sync is complete). */
  sentStep2 = false;
  /** Updates that arrived before the step 2 they depend on. */
  held: Uint8Array[] = [];

  constructor(
    readonly sessionId: string,
    readonly identity: Identity,
    readonly socket: YjsSocket,
    /** Detaches the connection from its room; the manager supplies it. */
    private readonly onClose: (conn: RoomConnection) => void,
  ) {
    this.origin = Object.freeze({ kind: 'client', connectionId: this.id, identity });
  }

  send(message: Uint8Array): void {
    if (this.closed) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.close(CloseCode.tryAgainLater, 'too slow to follow the room');
      return;
    }
    this.socket.send(message);
  }

  /** Closes from the server side; the connection stops taking part at once. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.socket.close(code, reason);
    this.onClose(this);
  }
}

export interface RoomDeps {
  readonly storage: Storage;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  /** Called once when storing fails: the room must be dropped. */
  readonly onFailure: (room: Room, problem: Problem) => void;
  /** AWARENESS_RENEWAL_MAX_DELAY_MS unless given (tests shorten it). */
  readonly awarenessRenewalMaxDelayMs?: number;
}

type QueueItem =
  | {
      readonly kind: 'update';
      readonly update: Uint8Array;
      readonly origin: unknown;
      /** performance.now() when the room got it. */
      readonly at: number;
    }
  | { readonly kind: 'send'; readonly conn: RoomConnection; readonly message: Uint8Array };

export class Room {
  readonly connections = new Set<RoomConnection>();
  readonly awareness: Awareness;
  failure: Problem | null = null;
  private readonly owners = new Map<number, RoomConnection>();
  private queue: QueueItem[] = [];
  private draining = false;
  private drainScheduled = false;
  private idleWaiters: ((r: Result<void>) => void)[] = [];
  /** Awareness client ids whose state changed and was not yet relayed. */
  private changesPending = new Set<number>();
  /** Awareness client ids renewed and not yet relayed, oldest first, with their arrival time. */
  private renewalsPending = new Map<number, number>();
  /** Client ids whose state really changed in the awareness update being handled. */
  private awarenessChanged = new Set<number>();
  private changeTimer: ReturnType<typeof setTimeout> | null = null;
  private renewalTimer: ReturnType<typeof setTimeout> | null = null;
  private lastChangeRelayAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly sessionId: string,
    readonly doc: Y.Doc,
    private readonly deps: RoomDeps,
  ) {
    this.awareness = new Awareness(doc);
    // The server shows no presence of its own.
    this.awareness.setLocalState(null);
    doc.on('update', this.onDocUpdate);
    this.awareness.on('change', this.onAwarenessChange);
    this.awareness.on('update', this.onAwarenessUpdate);
  }

  /** Whether every update so far is stored and broadcast. */
  get idle(): boolean {
    return !this.draining && this.queue.length === 0;
  }

  /** Resolves once every update made so far is durable and broadcast. */
  flushed(): Promise<Result<void>> {
    if (this.failure) return Promise.resolve(err(this.failure));
    if (this.idle) return Promise.resolve(ok(undefined));
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Greets a connection: the server's state vector, then every awareness state. */
  join(conn: RoomConnection): void {
    this.connections.add(conn);
    conn.room = this;
    conn.send(encodeSyncStep1(this.doc));
    const clients = [...this.awareness.getStates().keys()];
    if (clients.length > 0) {
      conn.send(encodeAwarenessMessage(encodeAwarenessUpdate(this.awareness, clients)));
    }
    const pending = conn.pending;
    conn.pending = [];
    for (const frame of pending) {
      if (conn.closed) break;
      this.receive(conn, frame);
    }
  }

  leave(conn: RoomConnection): void {
    if (!this.connections.delete(conn)) return;
    conn.room = null;
    const ids = [...conn.clientIds];
    for (const id of ids) this.owners.delete(id);
    if (ids.length > 0) removeAwarenessStates(this.awareness, ids, 'connection closed');
  }

  /** Handles one binary frame from a connection. */
  receive(conn: RoomConnection, bytes: Uint8Array): void {
    if (conn.closed) return;
    const parsed = parseFrame(bytes, (clientID, clock) => this.isEcho(conn, clientID, clock));
    if (!parsed.ok) {
      this.reject(conn, CloseCode.badMessage, parsed.error.message, 'malformed');
      return;
    }
    const frame = parsed.value;
    switch (frame.type) {
      case 'sync_step1':
        this.reply(conn, encodeSyncStep2(this.doc, frame.stateVector));
        return;
      case 'sync_step2':
      case 'sync_update':
        if (!canWrite(conn.identity.role)) {
          // Read-only: drop it; tell the client once, and only about a real change (a synced
          // viewer's step 2 is empty), and keep the connection for reading.
          if (!frame.empty && !conn.toldReadOnly) {
            conn.toldReadOnly = true;
            conn.send(encodePermissionDenied('read-only: viewers cannot edit this session'));
          }
          return;
        }
        this.applyClientUpdate(conn, frame.update, frame.empty, frame.type === 'sync_update');
        if (frame.type === 'sync_step2' && !conn.sentStep2 && !conn.closed) {
          conn.sentStep2 = true;
          const held = conn.held.splice(0);
          for (const update of held) {
            if (conn.closed) break;
            this.applyClientUpdate(conn, update, false, false);
          }
        }
        return;
      case 'awareness':
        this.applyAwareness(conn, frame.entries);
        return;
      case 'query_awareness': {
        const clients = [...this.awareness.getStates().keys()];
        conn.send(encodeAwarenessMessage(encodeAwarenessUpdate(this.awareness, clients)));
        return;
      }
    }
  }

  /** Stops the room: no more storing or broadcasting. Connections are the manager's. */
  destroy(): void {
    this.doc.off('update', this.onDocUpdate);
    this.awareness.off('change', this.onAwarenessChange);
    this.awareness.off('update', this.onAwarenessUpdate);
    if (this.changeTimer !== null) clearTimeout(this.changeTimer);
    if (this.renewalTimer !== null) clearTimeout(this.renewalTimer);
    this.changeTimer = null;
    this.renewalTimer = null;
    // Destroying the doc destroys its awareness (and its timer) too.
    this.doc.destroy();
    for (const resolve of this.idleWaiters.splice(0)) {
      resolve(err(this.failure ?? problem(ErrorCode.internal, 'the room was unloaded')));
    }
  }

  private applyClientUpdate(
    conn: RoomConnection,
    update: Uint8Array,
    empty: boolean,
    mayHold: boolean,
  ): void {
    if (empty) return;
    if (!this.follows(update)) {
      // Yjs would park it as pending structs: in memory, sent to joiners, never stored. A stock
      // client sends one legitimately when it edits right after reconnecting with offline
      // edits, before its step 2 (which brings what is missing): hold it until then.
      if (mayHold && !conn.sentStep2 && conn.held.length < MAX_HELD_UPDATES) {
        conn.held.push(update);
        return;
      }
      // Otherwise a transient close: the client reconnects and resyncs in order.
      this.reject(conn, CloseCode.tryAgainLater, 'update does not follow the document', 'gap');
      return;
    }
    try {
      Y.applyUpdate(this.doc, update, conn.origin);
    } catch (cause) {
      this.deps.log.warn({ err: cause, connection: conn.id }, 'update rejected');
      this.reject(conn, CloseCode.badMessage, 'update rejected', 'apply');
    }
  }

  /** Whether every client's structs in `update` start at or before what the doc has. */
  private follows(update: Uint8Array): boolean {
    try {
      for (const [client, clock] of Y.parseUpdateMeta(update).from) {
        if (clock > Y.getState(this.doc.store, client)) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  private reject(conn: RoomConnection, code: number, reason: string, metric: string): void {
    this.deps.metrics.incCounter(YjsMetric.rejectedFrames, { reason: metric });
    conn.close(code, reason);
  }

  /**
   * Whether an awareness entry is one the stock client relays back: another connection's entry
   * with a clock the room already has. applyAwareness ignores those; the parser skips them.
   */
  private isEcho(conn: RoomConnection, clientID: number, clock: number): boolean {
    if (this.owners.get(clientID) === conn) return false;
    const known = this.awareness.meta.get(clientID);
    return known !== undefined && clock <= known.clock;
  }

  /**
   * Stamps identity on a client's awareness and refuses entries it does not own: a client may
   * only set the client ids it introduced on this connection, never another user's.
   */
  private applyAwareness(conn: RoomConnection, entries: readonly AwarenessEntry[]): void {
    const accepted: AwarenessEntry[] = [];
    let refused = 0;
    for (const entry of entries) {
      const owner = this.owners.get(entry.clientID);
      if (owner !== conn) {
        // The stock client relays every awareness change it receives, so entries of other
        // connections come back with clocks the room already has: ignore those quietly.
        const known = this.awareness.meta.get(entry.clientID);
        if (known !== undefined && entry.clock <= known.clock) continue;
        if (owner === undefined && entry.state === null) continue;
        if (
          owner !== undefined ||
          entry.clientID === this.awareness.clientID ||
          conn.clientIds.size >= MAX_AWARENESS_CLIENTS_PER_CONNECTION
        ) {
          refused++;
          continue;
        }
        this.owners.set(entry.clientID, conn);
        conn.clientIds.add(entry.clientID);
      }
      accepted.push({
        clientID: entry.clientID,
        clock: entry.clock,
        state:
          entry.state === null
            ? null
            : {
                ...entry.state,
                user: {
                  id: conn.identity.userId,
                  name: conn.identity.name,
                  color: conn.identity.color,
                  role: conn.identity.role,
                },
              },
      });
    }
    if (refused > 0) {
      this.deps.metrics.incCounter(YjsMetric.rejectedFrames, { reason: 'awareness' }, refused);
    }
    if (accepted.length > 0) {
      applyAwarenessUpdate(this.awareness, encodeAwarenessEntries(accepted), conn.origin);
    }
  }

  // Awareness emits 'change' (states that differ) just before 'update' (those and renewals).
  private readonly onAwarenessChange = (changes: {
    added: number[];
    updated: number[];
    removed: number[];
  }): void => {
    for (const id of changes.added) this.awarenessChanged.add(id);
    for (const id of changes.updated) this.awarenessChanged.add(id);
    for (const id of changes.removed) this.awarenessChanged.add(id);
  };

  private readonly onAwarenessUpdate = (
    changes: { added: number[]; updated: number[]; removed: number[] },
    _origin: unknown,
  ): void => {
    const now = performance.now();
    for (const list of [changes.added, changes.updated, changes.removed]) {
      for (const id of list) {
        if (this.awarenessChanged.has(id)) {
          // The change relay sends the entry's current state and clock: a waiting renewal of
          // it is carried along.
          this.changesPending.add(id);
          this.renewalsPending.delete(id);
        } else if (!this.changesPending.has(id) && !this.renewalsPending.has(id)) {
          this.renewalsPending.set(id, now);
        }
      }
    }
    this.awarenessChanged.clear();
    if (this.changesPending.size > 0 && this.changeTimer === null) {
      const wait = this.lastChangeRelayAt + AWARENESS_CHANGE_INTERVAL_MS - now;
      if (wait <= 0) this.relayChanges();
      else this.changeTimer = setTimeout(this.relayChanges, wait);
    }
    if (this.renewalsPending.size > 0 && this.renewalTimer === null) {
      this.renewalTimer = setTimeout(this.relayRenewals, AWARENESS_RENEWAL_PACE_MS);
    }
  };

  /** Sends every waiting awareness change as one message. */
  private readonly relayChanges = (): void => {
    // Called by its timer, or at once when no timer was pending.
    this.changeTimer = null;
    if (this.changesPending.size === 0) return;
    this.lastChangeRelayAt = performance.now();
    const ids = [...this.changesPending];
    this.changesPending.clear();
    this.sendAwareness(ids);
  };

  /**
   * Sends the oldest share of the waiting renewals: as many as spreads them evenly over the
   * ticks left before the oldest one's AWARENESS_RENEWAL_MAX_DELAY_MS, then ticks again.
   */
  private readonly relayRenewals = (): void => {
    this.renewalTimer = null;
    const first = this.renewalsPending.values().next();
    if (first.done) return;
    const now = performance.now();
    const maxDelay = this.deps.awarenessRenewalMaxDelayMs ?? AWARENESS_RENEWAL_MAX_DELAY_MS;
    const ticksLeft = Math.max(
      1,
      Math.floor((first.value + maxDelay - now) / AWARENESS_RENEWAL_PACE_MS),
    );
    let count = Math.ceil(this.renewalsPending.size / ticksLeft);
    const ids: number[] = [];
    for (const id of this.renewalsPending.keys()) {
      if (count-- <= 0) break;
      ids.push(id);
    }
    for (const id of ids) this.renewalsPending.delete(id);
    this.sendAwareness(ids);
    if (this.renewalsPending.size > 0) {
      this.renewalTimer = setTimeout(this.relayRenewals, AWARENESS_RENEWAL_PACE_MS);
    }
  };

  private sendAwareness(ids: number[]): void {
    const message = asBuffer(encodeAwarenessMessage(encodeAwarenessUpdate(this.awareness, ids)));
    // To every connection, the sender included: a lone client's 30 s silence watchdog is fed
    // by its own awareness renewals coming back (the stock server does the same).
    for (const conn of this.connections) conn.send(message);
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    this.deps.metrics.incCounter(YjsMetric.updates, {});
    this.queue.push({ kind: 'update', update, origin, at: performance.now() });
    // Drained after the poll phase: every update read from the sockets in this turn of the
    // loop goes out in one batch (one merged frame per connection) instead of the first alone.
    if (!this.draining && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(this.startDrain);
    }
  };

  private readonly startDrain = (): void => {
    this.drainScheduled = false;
    void this.drain();
  };

  /**
   * Sends a reply computed from the current document. If updates are still being stored it
   * waits behind them, so no connection ever receives state that is not yet durable.
   */
  private reply(conn: RoomConnection, message: Uint8Array): void {
    if (this.idle) conn.send(message);
    else this.queue.push({ kind: 'send', conn, message });
  }

  /** Stores queued updates (one group commit per batch), then broadcasts them in order. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    while (this.queue.length > 0 && this.failure === null) {
      const batch = this.queue;
      this.queue = [];
      const stored = await Promise.all(
        batch.map((item) =>
          item.kind === 'update' ? this.store(item.update) : Promise.resolve(ok(undefined)),
        ),
      );
      const failed = stored.find((r) => !r.ok);
      if (failed !== undefined && !failed.ok) {
        this.fail(failed.error);
        break;
      }
      this.broadcast(batch);
    }
    this.draining = false;
    if (this.queue.length === 0 || this.failure !== null) {
      const result: Result<void> = this.failure ? err(this.failure) : ok(undefined);
      for (const resolve of this.idleWaiters.splice(0)) resolve(result);
    }
  }

  /**
   * Sends a stored batch. Several updates go to each connection that authored none of them as
   * one merged update (one frame instead of many when the room is busy); an author gets the
   * others' updates one by one, never its own.
   */
  private broadcast(batch: readonly QueueItem[]): void {
    const updates: { update: Uint8Array; from: string | null; message?: Uint8Array }[] = [];
    for (const item of batch) {
      if (item.kind === 'update') {
        const from = isClientOrigin(item.origin) ? item.origin.connectionId : null;
        updates.push({ update: item.update, from });
      }
    }
    let merged: Uint8Array | null = null;
    if (updates.length > 1) {
      try {
        merged = asBuffer(encodeUpdate(Y.mergeUpdates(updates.map((u) => u.update))));
      } catch (cause) {
        this.deps.log.warn({ err: cause }, 'merging a batch failed; sending it update by update');
      }
    }
    const authors = new Set(updates.map((u) => u.from));
    for (const conn of this.connections) {
      if (merged !== null && !authors.has(conn.id)) {
        conn.send(merged);
        continue;
      }
      for (const u of updates) {
        if (u.from === conn.id) continue;
        u.message ??= asBuffer(encodeUpdate(u.update));
        conn.send(u.message);
      }
    }
    for (const item of batch) if (item.kind === 'send') item.conn.send(item.message);
    const sent = performance.now();
    for (const item of batch) {
      if (item.kind === 'update') this.deps.metrics.observe(YjsMetric.fanout, {}, sent - item.at);
    }
  }

  private async store(update: Uint8Array): Promise<Result<void>> {
    try {
      return await this.deps.storage.appendUpdate(this.sessionId, update);
    } catch (cause) {
      this.deps.log.error({ err: cause }, 'storage append threw');
      return err(problem(ErrorCode.storage_failed, 'storing the update failed'));
    }
  }

  private fail(failure: Problem): void {
    if (this.failure) return;
    this.failure = failure;
    this.queue = [];
    this.deps.log.error({ code: failure.code }, 'room dropped: an update could not be stored');
    this.deps.onFailure(this, failure);
  }
}

/**
 * One message goes to every connection as the same Buffer (a view, no copy): the socket takes a
 * Buffer as it is, where a plain Uint8Array would be wrapped again for each connection.
 */
function asBuffer(bytes: Uint8Array): Uint8Array {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
