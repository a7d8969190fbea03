/**
 * The `/api/v1/control` protocol, transport-free: each connection feeds it text frames and gets
 * text frames back. Every frame is parsed with protocol's `parseClientMessage`; a bad one is
 * answered with an `error` response and the connection stays up. Graph ops go through the
 * session bridge (engine first, then the shared document, so every Yjs client sees them).
 * Volatile data (states, stats, view data, run events) goes to subscribed connections as
 * events, never into the document.
 *
 * A document edit the server refused (made over Yjs by this user) arrives as an unsolicited
 * `error` response: `{type: 'response', payload: {type: 'error', code, message, node?,
 * problems?}}` with no `id`, sent to the editing user's connections subscribed to the session.
 */
import type { Logger, OpResult } from '@patchbay/engine';
import {
  errorResponse,
  event,
  exportPipelineYaml,
  graphOpOfRequest,
  isGraphOpRequest,
  okResponse,
  parseClientMessage,
  problem,
} from '@patchbay/protocol';
import type {
  ControlEvent,
  ControlRequest,
  ControlServerEnvelope,
  Problem,
  Result,
} from '@patchbay/protocol';
import { canWrite } from '../host/server-context';
import type { Identity } from '../host/server-context';
import type { SessionManager, SessionNotice } from '../sessions/session-manager';

/** A connection's outgoing buffer above which coalescable events (stats, view data) are dropped. */
export const CONTROL_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * A connection this far behind is closed (state events are never dropped, E12, so a client that
 * stops reading would otherwise grow the server's memory without bound). It reconnects and
 * gets current states from `subscribe`.
 */
export const CONTROL_CLOSE_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Close code for a client that stopped reading (policy violation). */
export const CONTROL_CLOSE_TOO_SLOW = 1008;

/** What the hub needs of one client connection. */
export interface ControlSocket {
  send(text: string): void;
  /** Bytes queued but not yet sent (backpressure for coalescable events). */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

/** The transport feeds frames in and tells when the socket closed. */
export interface ControlConnectionHandle {
  receive(data: string | ArrayBuffer | Uint8Array): void;
  closed(): void;
}

interface Conn {
  readonly identity: Identity;
  readonly socket: ControlSocket;
  readonly subscriptions: Set<string>;
  /** Requests are answered in order of arrival. */
  queue: Promise<void>;
  open: boolean;
}

/** Events a client may miss (E12: coalesced, latest wins); state events never are. */
const COALESCABLE = new Set<ControlEvent['type']>(['node_stats', 'node_view_data']);

export class ControlHub {
  readonly #sessions: SessionManager;
  readonly #log: Logger;
  readonly #conns = new Set<Conn>();
  readonly #off: () => void;
  /** Frames that failed to parse (for metrics). */
  rejectedFrames = 0;

  constructor(options: { sessions: SessionManager; log: Logger }) {
    this.#sessions = options.sessions;
    this.#log = options.log;
    this.#off = this.#sessions.subscribe((n) => this.#notice(n));
  }

  /**
   * The latest stats and view data per session and node, replayed to a connection when it
   * subscribes. Dropped with the node or the session.
   */
  readonly #latest = new Map<string, Map<string, ControlEvent>>();

  #remember(session: string, e: ControlEvent): void {
    if (e.type === 'node_removed') {
      const latest = this.#latest.get(session);
      latest?.delete(`node_stats:${e.node}`);
      latest?.delete(`node_view_data:${e.node}`);
      return;
    }
    if (e.type !== 'node_stats' && e.type !== 'node_view_data') return;
    let latest = this.#latest.get(session);
    if (!latest) this.#latest.set(session, (latest = new Map()));
    latest.set(`${e.type}:${e.node}`, e);
  }

  /** Open control connections. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  connect(identity: Identity, socket: ControlSocket): ControlConnectionHandle {
    const conn: Conn = {
      identity,
      socket,
      subscriptions: new Set(),
      queue: Promise.resolve(),
      open: true,
    };
    this.#conns.add(conn);
    return {
      receive: (data) => {
        if (!conn.open) return;
        conn.queue = conn.queue
          .then(() => this.#handle(conn, data))
          .catch((e: unknown) => this.#log.error({ err: e }, 'control request failed'));
      },
      closed: () => {
        conn.open = false;
        this.#conns.delete(conn);
      },
    };
  }

  /** Stops routing events (server shutdown). */
  dispose(): void {
    this.#off();
    this.#conns.clear();
  }

  // ------------------------------------------------------------------------------------------

  #send(conn: Conn, frame: ControlServerEnvelope): void {
    if (!conn.open) return;
    if (conn.socket.bufferedAmount() > CONTROL_CLOSE_BUFFERED_BYTES) {
      this.#log.warn({ user: conn.identity.userId }, 'control client too slow: closing');
      conn.open = false;
      this.#conns.delete(conn);
      conn.socket.close(CONTROL_CLOSE_TOO_SLOW, 'too slow: reconnect and subscribe again');
      return;
    }
    try {
      conn.socket.send(JSON.stringify(frame));
    } catch (e) {
      this.#log.warn({ err: e }, 'control send failed');
    }
  }

  #notice(n: SessionNotice): void {
    switch (n.kind) {
      case 'event':
        this.#remember(n.session, n.event);
        for (const conn of this.#conns) {
          if (!conn.subscriptions.has(n.session)) continue;
          if (
            COALESCABLE.has(n.event.type) &&
            conn.socket.bufferedAmount() > CONTROL_MAX_BUFFERED_BYTES
          )
            continue;
          this.#send(conn, event(n.event));
        }
        return;
      case 'refused': {
        if (!n.identity) return;
        const first = n.problems[0];
        if (!first) return;
        const frame = errorResponse(undefined, {
          ...first,
          message: `session ${n.session}: your edit was undone: ${first.message}`,
          ...(n.problems.length > 1 ? { problems: n.problems } : {}),
        });
        for (const conn of this.#conns) {
          if (conn.identity.userId === n.identity.userId && conn.subscriptions.has(n.session))
            this.#send(conn, frame);
        }
        return;
      }
      case 'created':
        for (const conn of this.#conns)
          this.#send(
            conn,
            event({ type: 'session_created', session: n.session.id, name: n.session.name }),
          );
        return;
      case 'deleted':
        this.#latest.delete(n.session);
        for (const conn of this.#conns) {
          conn.subscriptions.delete(n.session);
          this.#send(conn, event({ type: 'session_deleted', session: n.session }));
        }
        return;
    }
  }

  async #handle(conn: Conn, raw: string | ArrayBuffer | Uint8Array): Promise<void> {
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) {
      this.rejectedFrames++;
      const { id, ...p } = parsed.error;
      this.#send(conn, errorResponse(id, p));
      return;
    }
    const { id, payload } = parsed.value;
    let answer: Result<unknown, Problem & { problems?: readonly Problem[] }>;
    try {
      answer = await this.#request(conn, payload);
    } catch (e) {
      this.#log.error({ err: e, request: payload.type }, 'control request threw');
      answer = { ok: false, error: problem('internal', 'the server failed on this request') };
    }
    this.#send(conn, answer.ok ? okResponse(id, answer.value) : errorResponse(id, answer.error));
  }

  async #request(
    conn: Conn,
    req: ControlRequest,
  ): Promise<Result<unknown, Problem & { problems?: readonly Problem[] }>> {
    const who = conn.identity;
    switch (req.type) {
      case 'list_sessions': {
        const r = await this.#sessions.list();
        return r.ok ? ok({ sessions: r.value }) : r;
      }
      case 'create_session': {
        const r = await this.#sessions.create({ name: req.name, yaml: req.yaml }, who);
        return r.ok ? ok(r.value) : many(r.error);
      }
      case 'delete_session': {
        const r = await this.#sessions.delete(req.session, who);
        return r.ok ? ok(undefined) : r;
      }
      case 'get_pipeline': {
        const r = await this.#sessions.pipeline(req.session);
        if (!r.ok) return r;
        return ok(
          req.format === 'json'
            ? { format: 'json', pipeline: r.value }
            : { format: 'yaml', yaml: exportPipelineYaml(r.value) },
        );
      }
      case 'subscribe': {
        const s = await this.#sessions.get(req.session);
        if (!s.ok) return s;
        conn.subscriptions.add(req.session);
        const states: Record<string, unknown> = {};
        for (const n of s.value.engine.snapshot().nodes) {
          Object.defineProperty(states, n.id, { value: n.state, enumerable: true });
          // A late joiner sees every node's state, latest stats and layout at once, not only
          // after the next change (S8: every client converges on the same layout).
          this.#send(
            conn,
            event({ type: 'node_state', session: req.session, node: n.id, state: n.state }),
          );
        }
        for (const e of this.#latest.get(req.session)?.values() ?? []) this.#send(conn, event(e));
        return ok({ states });
      }
      case 'unsubscribe':
        conn.subscriptions.delete(req.session);
        return ok(undefined);
      case 'validate_batch': {
        const s = await this.#sessions.get(req.session);
        if (!s.ok) return s;
        return ok({ problems: await s.value.bridge.validate(req.ops, who) });
      }
      case 'apply_batch': {
        const s = await this.#sessions.get(req.session);
        if (!s.ok) return s;
        const r = await s.value.bridge.apply(req.ops, who);
        if (r.ok) return ok(undefined);
        return {
          ok: false,
          error: {
            code:
              r.error.length === 1 && r.error[0]?.code === 'read_only'
                ? 'read_only'
                : 'batch_rejected',
            message: `batch rejected: ${r.error.length} problem${r.error.length === 1 ? '' : 's'}: ${r.error[0]?.message ?? ''}`,
            problems: r.error,
          },
        };
      }
      case 'demand':
      case 'cancel':
      case 'answer': {
        const s = await this.#sessions.get(req.session);
        if (!s.ok) return s;
        if (!canWriteRole(who)) return err(problem('read_only', 'viewers cannot run nodes'));
        const engine = s.value.engine;
        if (req.type === 'demand') {
          // The run sees every edit queued before it (X6: a tune invalidates its cache).
          await s.value.bridge.idle();
          return engine.demand(req.node);
        }
        const r =
          req.type === 'cancel'
            ? await engine.cancel(req.run)
            : await engine.answer(req.run, req.node, req.value);
        return r.ok ? ok(undefined) : r;
      }
      default: {
        if (!isGraphOpRequest(req)) return err(problem('bad_request', 'unsupported request'));
        const s = await this.#sessions.get(req.session);
        if (!s.ok) return s;
        const r = await s.value.bridge.apply([graphOpOfRequest(req)], who);
        if (!r.ok) return many(r.error);
        return ok(resultOf(r.value[0]));
      }
    }
  }
}

function resultOf(r: OpResult | undefined): unknown {
  return r?.op === 'connect' ? r.connection : undefined;
}

function canWriteRole(identity: Identity): boolean {
  return canWrite(identity.role);
}

function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

function err(p: Problem): { ok: false; error: Problem } {
  return { ok: false, error: p };
}

/** The first problem as the error, every problem listed when there are several. */
function many(problems: readonly Problem[]): {
  ok: false;
  error: Problem & { problems?: readonly Problem[] };
} {
  const first = problems[0] ?? problem('internal', 'refused without a reason');
  return { ok: false, error: problems.length > 1 ? { ...first, problems } : first };
}
