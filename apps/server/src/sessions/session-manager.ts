/**
 * Every live session of the server: its stored record, its Yjs room (held for as long as the
 * session is open), its engine and the bridge between them. Sessions are opened at start, so
 * each engine is rebuilt from its stored document, and stay open until deleted or shutdown.
 */
import { randomUUID } from 'node:crypto';
import type * as Y from 'yjs';
import { readPipeline } from '@patchbay/document';
import { Engine } from '@patchbay/engine';
import type { Clock, EngineEvent, EngineServices, Logger, NodeRegistry } from '@patchbay/engine';
import { err, importPipelineYaml, ok, problem } from '@patchbay/protocol';
import type { ControlEvent, Pipeline, Problem, Result, SessionInfo } from '@patchbay/protocol';
import type { Authenticator } from '../auth/auth';
import { canWrite } from '../host/server-context';
import type { Identity, ServerMetrics } from '../host/server-context';
import { MAX_SESSION_NAME_CHARS } from '../storage/storage';
import type { SessionRecord, Storage } from '../storage/storage';
import { confineToDir } from './path-policy';
import { SessionBridge } from './session-bridge';
import { controlEventOf } from './session-events';

/** A session's room as the manager holds it: the shared document and a release. */
export interface RoomLease {
  readonly doc: Y.Doc;
  release(): void;
  /** Called if the room is dropped under the holder (storing failed): the doc is dead then. */
  onInvalidated?(listener: (problem: Problem) => void): () => void;
}

/** What the manager needs from the Yjs rooms. */
export interface RoomProvider {
  /** The session's room with its stored document loaded (never an empty stand-in). */
  acquire(sessionId: string): Promise<Result<RoomLease>>;
  /** A deleted session's room: disconnect its clients and drop it. */
  close(sessionId: string): Promise<void>;
  /** Who sent a transaction applied by the room (its origin), if a client did. */
  identityOf(origin: unknown): Identity | undefined;
}

/** Session-scoped happenings the control API routes to clients. */
export type SessionNotice =
  | { kind: 'event'; session: string; event: ControlEvent }
  | {
      kind: 'refused';
      session: string;
      identity: Identity | undefined;
      problems: readonly Problem[];
    }
  | { kind: 'created'; session: SessionInfo }
  | { kind: 'deleted'; session: string };

export interface SessionManagerOptions {
  readonly storage: Storage;
  readonly rooms: RoomProvider;
  readonly registry: NodeRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  readonly authenticator: Authenticator;
  /** File params are confined here. */
  readonly dataDir: string;
  /** Services every session engine gets (task services, compositor threads, …). */
  readonly services?: EngineServices;
}

interface OpenSession {
  readonly id: string;
  name: string;
  readonly engine: Engine;
  readonly bridge: SessionBridge;
  readonly room: RoomLease;
  readonly offEngine: () => void;
}

/** Packets each node received, sent and dropped (from the engine's stats), for `/metrics`. */
export const NODE_PACKETS_GAUGE = 'patchbay_node_packets';

/** Counts document updates from clients, for `/metrics`. */
export const YJS_CLIENT_UPDATES_COUNTER = 'patchbay_yjs_client_updates_total';

export class SessionManager {
  readonly #o: SessionManagerOptions;
  readonly #open = new Map<string, OpenSession>();
  /** Opens in flight, so two callers never open one session twice. */
  readonly #opening = new Map<string, Promise<Result<OpenSession>>>();
  readonly #listeners = new Set<(n: SessionNotice) => void>();
  readonly #checkPath: (path: string) => string | undefined;
  /** Called for every client document update handled (updates/s). */
  onClientUpdate: (() => void) | undefined;

  constructor(options: SessionManagerOptions) {
    this.#o = options;
    this.#checkPath = confineToDir(options.dataDir);
  }

  /** Opens every stored session (each engine is rebuilt from its document). */
  async start(): Promise<Result<number>> {
    const list = await this.#o.storage.listSessions();
    if (!list.ok) return list;
    let opened = 0;
    for (const record of list.value) {
      const r = await this.#openSession(record);
      if (r.ok) opened++;
      else
        this.#o.log.error({ session: record.id, problem: r.error }, 'session could not be opened');
    }
    return ok(opened);
  }

  /** Subscribes to every session notice; returns the dispose function. */
  subscribe(listener: (n: SessionNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get openCount(): number {
    return this.#open.size;
  }

  async list(): Promise<Result<SessionInfo[]>> {
    const r = await this.#o.storage.listSessions();
    if (!r.ok) return r;
    return ok(r.value.map((s) => ({ id: s.id, name: s.name })));
  }

  /** Whether a stored session with this id exists. */
  async exists(id: string): Promise<boolean> {
    if (this.#open.has(id)) return true;
    return (await this.#o.storage.getSession(id)).ok;
  }

  /**
   * A new session, empty or from YAML. The YAML is checked in full first (every problem, per
   * node); on any problem nothing is created.
   */
  async create(
    input: { name?: string | undefined; yaml?: string | undefined; pipeline?: Pipeline },
    identity: Identity | undefined,
  ): Promise<Result<SessionInfo, Problem[]>> {
    if (identity && !canWrite(identity.role)) {
      return err([problem('read_only', 'viewers cannot create sessions')]);
    }
    let pipeline = input.pipeline;
    if (input.yaml !== undefined) {
      const parsed = this.parseYaml(input.yaml);
      if (!parsed.ok) return parsed;
      pipeline = parsed.value;
    }
    const name = input.name ?? pipeline?.name ?? 'Untitled session';
    // The session's name is its pipeline's name: an explicit name wins over the YAML's.
    if (pipeline && input.name !== undefined) pipeline = { ...pipeline, name: input.name };
    const id = newSessionId();
    const created = await this.#o.storage.createSession({ id, name });
    if (!created.ok) return err([created.error]);
    const opened = await this.#openSession(created.value);
    if (!opened.ok) {
      await this.#o.storage.deleteSession(id);
      return err([opened.error]);
    }
    if (pipeline) {
      const replaced = await opened.value.bridge.replace(pipeline, identity);
      if (!replaced.ok) {
        await this.#closeSession(id);
        await this.#o.rooms.close(id);
        await this.#o.storage.deleteSession(id);
        return replaced;
      }
    }
    const info = { id, name };
    this.#emit({ kind: 'created', session: info });
    this.#o.log.info({ session: id, name, user: identity?.userId }, 'session created');
    return ok(info);
  }

  /** Stops the session's engine, disconnects its clients, deletes it with its document. */
  async delete(id: string, identity: Identity | undefined): Promise<Result<void>> {
    if (identity && !canWrite(identity.role)) {
      return err(problem('read_only', 'viewers cannot delete sessions'));
    }
    const found = await this.#o.storage.getSession(id);
    if (!found.ok) return found;
    await this.#closeSession(id);
    await this.#o.rooms.close(id);
    const deleted = await this.#o.storage.deleteSession(id);
    if (!deleted.ok) return deleted;
    this.#emit({ kind: 'deleted', session: id });
    this.#o.log.info({ session: id, user: identity?.userId }, 'session deleted');
    return ok(undefined);
  }

  /** The open session (opening a stored one on first use), or `not_found`. */
  async get(
    id: string,
  ): Promise<
    Result<{ id: string; name: string; engine: Engine; bridge: SessionBridge; doc: Y.Doc }>
  > {
    const open = this.#open.get(id);
    if (open)
      return ok({
        id,
        name: open.name,
        engine: open.engine,
        bridge: open.bridge,
        doc: open.room.doc,
      });
    const record = await this.#o.storage.getSession(id);
    if (!record.ok) return record;
    const opened = await this.#openSession(record.value);
    if (!opened.ok) return opened;
    const s = opened.value;
    return ok({ id, name: s.name, engine: s.engine, bridge: s.bridge, doc: s.room.doc });
  }

  /** The durable pipeline (S3), once every queued edit has been handled. */
  async pipeline(id: string): Promise<Result<Pipeline>> {
    const s = await this.get(id);
    if (!s.ok) return s;
    await s.value.bridge.idle();
    return ok(readPipeline(s.value.doc));
  }

  /** Parses pipeline YAML for a live session: every problem, each naming its node. */
  parseYaml(text: string): Result<Pipeline, Problem[]> {
    const parsed = importPipelineYaml(text, this.#o.registry);
    if (!parsed.ok) return parsed;
    const problems: Problem[] = [];
    for (const [id, node] of Object.entries(parsed.value.nodes)) {
      if (this.#o.registry.get(node.kind)?.oneshotOnly) {
        problems.push(
          problem('oneshot_only', `node ${id}: ${node.kind} is only allowed in oneshot runs`, id),
        );
      }
    }
    return problems.length > 0 ? err(problems) : parsed;
  }

  /** Stops every engine and releases every room (server shutdown). */
  async shutdown(): Promise<void> {
    await Promise.all([...this.#open.keys()].map((id) => this.#closeSession(id)));
  }

  // ------------------------------------------------------------------------------------------

  #emit(n: SessionNotice): void {
    for (const l of this.#listeners) {
      try {
        l(n);
      } catch (e) {
        this.#o.log.error({ err: e }, 'session listener threw');
      }
    }
  }

  #openSession(record: SessionRecord): Promise<Result<OpenSession>> {
    const open = this.#open.get(record.id);
    if (open) return Promise.resolve(ok(open));
    const pending = this.#opening.get(record.id);
    if (pending) return pending;
    const opening = this.#doOpen(record).finally(() => this.#opening.delete(record.id));
    this.#opening.set(record.id, opening);
    return opening;
  }

  async #doOpen(record: SessionRecord): Promise<Result<OpenSession>> {
    const id = record.id;
    const log = this.#o.log.child({ session: id });
    const room = await this.#o.rooms.acquire(id);
    if (!room.ok) return room;
    const engine = new Engine({
      registry: this.#o.registry,
      clock: this.#o.clock,
      mode: 'dynamic',
      session: id,
      logger: this.#o.log,
      metrics: this.#o.metrics,
      services: this.#o.services ?? {},
      policy: { checkPath: this.#checkPath },
      pacing: 'realtime',
    });
    const offEngine = engine.subscribe((e) => {
      this.#packetGauges(id, e);
      const event = controlEventOf(id, e);
      if (event) this.#emit({ kind: 'event', session: id, event });
    });
    const bridge = new SessionBridge({
      session: id,
      doc: room.value.doc,
      engine,
      registry: this.#o.registry,
      authenticator: this.#o.authenticator,
      log: log.child({ mod: 'bridge' }),
      identityOf: (origin) => this.#o.rooms.identityOf(origin),
      onRefused: (identity, problems) =>
        this.#emit({ kind: 'refused', session: id, identity, problems }),
      onRenamed: (name) => this.#rename(id, name),
      onClientUpdate: () => {
        this.#o.metrics.incCounter(YJS_CLIENT_UPDATES_COUNTER, { session: id });
        this.onClientUpdate?.();
      },
    });
    const session: OpenSession = {
      id,
      name: record.name,
      engine,
      bridge,
      room: room.value,
      offEngine,
    };
    this.#open.set(id, session);
    room.value.onInvalidated?.((p) => {
      // The next request for the session opens it again from what was stored.
      log.error({ problem: p }, 'session document dropped; its engine stops until reopened');
      void this.#closeSession(id);
    });
    const refused = await bridge.start();
    log.info(
      { nodes: Object.keys(bridge.applied.nodes).length, refused: refused.length },
      'session engine started',
    );
    return ok(session);
  }

  /** The session list follows the pipeline's name (blank names are kept out). */
  async #rename(id: string, name: string): Promise<void> {
    const trimmed = name.trim().slice(0, MAX_SESSION_NAME_CHARS);
    const open = this.#open.get(id);
    if (trimmed === '' || !open || open.name === trimmed) return;
    const r = await this.#o.storage.renameSession(id, trimmed);
    if (!r.ok) {
      this.#o.log.warn({ session: id, problem: r.error }, 'session rename not stored');
      return;
    }
    open.name = trimmed;
  }

  /** `patchbay_node_packets{session,node,direction}` from the engine's coalesced stats. */
  #packetGauges(session: string, e: EngineEvent): void {
    if (e.type === 'node_stats') {
      for (const direction of ['in', 'out', 'dropped'] as const) {
        const value = e.stats[`packets_${direction}`];
        if (typeof value === 'number') {
          this.#o.metrics.setGauge(NODE_PACKETS_GAUGE, { session, node: e.node, direction }, value);
        }
      }
    } else if (e.type === 'node_removed') {
      for (const direction of ['in', 'out', 'dropped'] as const) {
        this.#o.metrics.setGauge(NODE_PACKETS_GAUGE, { session, node: e.node, direction }, 0);
      }
    }
  }

  async #closeSession(id: string): Promise<void> {
    const pending = this.#opening.get(id);
    if (pending) await pending;
    const s = this.#open.get(id);
    if (!s) return;
    this.#open.delete(id);
    s.bridge.dispose();
    await s.engine.shutdown();
    s.offEngine();
    s.room.release();
  }
}

/** A short URL-safe id. */
function newSessionId(): string {
  return `s-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}
