/**
 * The bridge between a session's shared document and its engine. The document is what every
 * client edits; the engine is the authority on what can run. The bridge keeps a mirror of what
 * the engine accepted (`applied`) and, after every client transaction, turns the difference
 * between the document and the mirror into engine ops. What the engine (or a policy here)
 * refuses is undone in the document with the server's own origin and reported to the editing
 * client; what it accepts becomes part of the mirror.
 *
 * Control-API ops and YAML replaces go the other way: the engine first (all-or-nothing), then
 * the document, in one server transaction, so every Yjs client sees them.
 *
 * Every path runs on one queue, so the mirror only changes in order. Engine calls settle in
 * microtasks, so a client transaction is handled before the next network message is read.
 */
import * as Y from 'yjs';
import {
  addNode as docAddNode,
  createNodeMap,
  documentMaps,
  patchMap,
  plainConnection,
  readConnection,
  readNode,
  readPipelineChecked,
  readPipelineMeta,
  removeNode as docRemoveNode,
  stampsOfEvents,
  sweepStamps,
  toYValue,
  writePipeline,
} from '@patchbay/document';
import type { DocumentProblem } from '@patchbay/document';
import type { Engine, Logger, NodeRegistry, OpResult } from '@patchbay/engine';
import {
  GraphOpSchema,
  NodeIdSchema,
  connectionId,
  emptyPipeline,
  err,
  ok,
  problem,
  validatePipeline,
} from '@patchbay/protocol';
import type {
  Connection,
  EditStamp,
  GraphOp,
  Pipeline,
  PipelineNode,
  Problem,
  Result,
} from '@patchbay/protocol';
import type { Authenticator } from '../auth/auth';
import { canWrite } from '../host/server-context';
import type { Identity } from '../host/server-context';
import {
  cloneNode,
  clonePipeline,
  closesCycle,
  diffOps,
  paramsDelta,
  setOwn,
} from './pipeline-diff';

/** The origin of every document change the server makes (rollbacks, control ops, sweeps). */
export const SERVER_ORIGIN = Symbol('patchbay-server');

/** What one client transaction changed: node ids, connection keys, and whether meta. */
interface Touched {
  readonly nodes: ReadonlySet<string>;
  readonly connections: ReadonlySet<string>;
  readonly meta: boolean;
}

export interface SessionBridgeOptions {
  readonly session: string;
  readonly doc: Y.Doc;
  readonly engine: Engine;
  readonly registry: NodeRegistry;
  readonly authenticator: Authenticator;
  readonly log: Logger;
  /** Who made a transaction (the Yjs connection that sent it); undefined for local changes. */
  readonly identityOf: (origin: unknown) => Identity | undefined;
  /** A client's document edit was refused and undone: tell the editor. */
  readonly onRefused: (identity: Identity | undefined, problems: readonly Problem[]) => void;
  /** Each client transaction the bridge handled (for metrics). */
  readonly onClientUpdate?: () => void;
  /** The pipeline's name changed in the document (the session list follows it). */
  readonly onRenamed?: (name: string) => Promise<void> | void;
}

export class SessionBridge {
  readonly #o: SessionBridgeOptions;
  #applied: Pipeline = emptyPipeline();
  /**
   * Nodes and connections the stored document holds but the engine refused when the session
   * was restored (e.g. a kind this server lacks). They stay in the document, untouched, rather
   * than being deleted by a restart; JSON of the stored entry by id/key.
   */
  readonly #skippedNodes = new Map<string, string>();
  readonly #skippedConnections = new Map<string, string>();
  #queue: Promise<void> = Promise.resolve();
  readonly #stamps = new Map<Y.Transaction, Map<string, EditStamp>>();
  readonly #touchedNodes = new Map<Y.Transaction, Set<string>>();
  #disposed = false;
  readonly #offs: Array<() => void> = [];

  constructor(options: SessionBridgeOptions) {
    this.#o = options;
  }

  get session(): string {
    return this.#o.session;
  }

  /** What the engine runs now (the mirror), for tests and diagnostics. */
  get applied(): Pipeline {
    return clonePipeline(this.#applied);
  }

  /**
   * Builds the engine from the stored document and starts following the document. Resolves
   * with what the engine refused (those entries stay in the document, see `#skippedNodes`).
   */
  start(): Promise<Problem[]> {
    const { doc } = this.#o;
    const { nodes, connections, meta } = documentMaps(doc);
    const onDeep = (events: Y.YEvent<Y.AbstractType<unknown>>[], tr: Y.Transaction) => {
      if (tr.origin === SERVER_ORIGIN) return;
      const stamps = stampsOfEvents(events);
      if (stamps.size > 0) this.#stamps.set(tr, stamps);
      // The node ids this transaction touched: a root key, or the first step of a deeper path.
      const ids = new Set<string>();
      for (const event of events) {
        const head = event.path[0];
        if (typeof head === 'string') ids.add(head);
        else if (event.target === nodes) for (const key of event.changes.keys.keys()) ids.add(key);
      }
      this.#touchedNodes.set(tr, ids);
    };
    nodes.observeDeep(onDeep);
    this.#offs.push(() => nodes.unobserveDeep(onDeep));
    const onTransaction = (tr: Y.Transaction) => {
      const stamps = this.#stamps.get(tr);
      this.#stamps.delete(tr);
      const touchedNodes = this.#touchedNodes.get(tr);
      this.#touchedNodes.delete(tr);
      if (tr.origin === SERVER_ORIGIN || this.#disposed) return;
      const touchedConnections = changedKeys(tr, connections);
      const touched: Touched = {
        nodes: touchedNodes ?? new Set(),
        connections: new Set(
          [...(touchedConnections ?? [])].filter((k): k is string => typeof k === 'string'),
        ),
        meta: changedKeys(tr, meta) !== undefined,
      };
      if (touched.nodes.size === 0 && touched.connections.size === 0 && !touched.meta) return;
      const identity = this.#o.identityOf(tr.origin);
      this.#o.onClientUpdate?.();
      void this.#enqueue(() => this.#reconcile('edit', identity, stamps ?? new Map(), touched));
    };
    doc.on('afterTransaction', onTransaction);
    this.#offs.push(() => doc.off('afterTransaction', onTransaction));
    this.#offs.push(
      this.#o.engine.subscribe((e) => {
        if (e.type === 'connection_removed') {
          void this.#enqueue(async () => this.#engineDropped(e.connection));
        }
      }),
    );
    return this.#enqueue(() => this.#reconcile('restore', undefined, new Map()));
  }

  /** Resolves once every queued change has been handled. */
  idle(): Promise<void> {
    return this.#enqueue(async () => undefined);
  }

  /** Stops following the document (the engine is shut down by the owner). */
  dispose(): void {
    this.#disposed = true;
    for (const off of this.#offs.splice(0)) off();
  }

  /** E15 pre-check of control ops for `identity`: every problem, nothing applied. */
  validate(ops: readonly unknown[], identity: Identity): Promise<Problem[]> {
    return this.#enqueue(async () => {
      const pre = this.#precheck(ops, identity);
      if (!pre.ok) return pre.error;
      return this.#o.engine.validateBatch(ops);
    });
  }

  /**
   * Control ops (single or batch): all-or-nothing in the engine (E15), then written to the
   * document in one server transaction so every Yjs client sees them.
   */
  apply(ops: readonly unknown[], identity: Identity): Promise<Result<OpResult[], Problem[]>> {
    return this.#enqueue(async () => {
      const pre = this.#precheck(ops, identity);
      if (!pre.ok) return pre;
      const applied = await this.#o.engine.applyBatch(ops);
      if (!applied.ok) return applied;
      this.#writeApplied(pre.value, applied.value);
      return applied;
    });
  }

  /** Replace the whole pipeline (YAML PUT): validated first; on any problem nothing changes. */
  replace(pipeline: Pipeline, identity: Identity | undefined): Promise<Result<void, Problem[]>> {
    return this.#enqueue(async () => {
      if (identity && !canWrite(identity.role)) return err([readOnly()]);
      const problems = validatePipeline(pipeline, this.#o.registry);
      if (identity) {
        for (const [id, node] of Object.entries(pipeline.nodes)) {
          const refused = this.#o.authenticator.checkKind(identity, node.kind, id);
          if (refused) problems.push(refused);
        }
      }
      if (problems.length > 0) return err(problems);
      const applied = await this.#o.engine.applyBatch(diffOps(this.#applied, pipeline));
      if (!applied.ok) return err(applied.error);
      writePipeline(this.#o.doc, pipeline, SERVER_ORIGIN);
      const renamed = pipeline.name !== undefined && pipeline.name !== this.#applied.name;
      this.#applied = clonePipeline(pipeline);
      if (renamed && pipeline.name !== undefined) await this.#o.onRenamed?.(pipeline.name);
      this.#skippedNodes.clear();
      this.#skippedConnections.clear();
      return ok(undefined);
    });
  }

  // ------------------------------------------------------------------------------------------

  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job);
    this.#queue = run.then(
      () => undefined,
      (e: unknown) => this.#o.log.error({ err: e }, 'session bridge job failed'),
    );
    return run;
  }

  /** Role, allowlist and cycle checks the engine does not do, on parsed ops. */
  #precheck(ops: readonly unknown[], identity: Identity): Result<GraphOp[], Problem[]> {
    if (!canWrite(identity.role)) return err([readOnly()]);
    if (!Array.isArray(ops)) return err([problem('bad_request', 'a batch is a list of ops')]);
    const parsed: GraphOp[] = [];
    const problems: Problem[] = [];
    const edges = Object.values(this.#applied.connections).map((c) => ({ ...c }));
    ops.forEach((raw, i) => {
      const p = GraphOpSchema.safeParse(raw);
      if (!p.success) {
        problems.push(
          problem('bad_request', `op ${i}: ${p.error.issues[0]?.message ?? 'invalid'}`),
        );
        return;
      }
      const op = p.data;
      parsed.push(op);
      if (op.op === 'add_node') {
        const refused = this.#o.authenticator.checkKind(identity, op.kind, op.id);
        if (refused) problems.push(refused);
      } else if (op.op === 'connect') {
        if (closesCycle(edges, op.from.node, op.to.node)) {
          problems.push(cycle(op.from.node, op.to.node));
        } else {
          edges.push({
            from: { node: op.from.node, pin: op.from.pin ?? 'out' },
            to: { node: op.to.node, pin: op.to.pin ?? 'in' },
            mode: op.mode,
          });
        }
      } else if (op.op === 'remove_node') {
        for (let j = edges.length - 1; j >= 0; j--) {
          const e = edges[j] as Connection;
          if (e.from.node === op.id || e.to.node === op.id) edges.splice(j, 1);
        }
      }
    });
    return problems.length > 0 ? err(problems) : ok(parsed);
  }

  /** After control ops succeeded in the engine: the same changes in the document and mirror. */
  #writeApplied(ops: readonly GraphOp[], results: readonly OpResult[]): void {
    const doc = this.#o.doc;
    const { connections } = documentMaps(doc);
    doc.transact(() => {
      ops.forEach((op, i) => {
        const result = results[i];
        switch (op.op) {
          case 'add_node': {
            const node: PipelineNode = { kind: op.kind, params: op.params };
            if (op.position) node.position = op.position;
            docAddNode(doc, op.id, node, { origin: SERVER_ORIGIN });
            setOwn(this.#applied.nodes, op.id, cloneNode(node));
            break;
          }
          case 'remove_node':
            docRemoveNode(doc, op.id, { origin: SERVER_ORIGIN });
            this.#forgetNode(op.id);
            break;
          case 'connect': {
            if (result?.op !== 'connect') break;
            const c = result.connection;
            const key = connectionId(c);
            connections.set(key, plainConnection(c));
            setOwn(this.#applied.connections, key, { ...c });
            break;
          }
          case 'disconnect': {
            const key = connectionId(op);
            connections.delete(key);
            delete this.#applied.connections[key];
            break;
          }
          case 'tune': {
            const node = documentMaps(doc).nodes.get(op.id);
            const mirror = this.#applied.nodes[op.id];
            if (!mirror) break;
            const next = { ...mirror.params };
            for (const [k, v] of Object.entries(op.params)) {
              if (v === undefined) delete next[k];
              else setOwn(next, k, v);
            }
            mirror.params = JSON.parse(JSON.stringify(next)) as Record<string, unknown>;
            if (!(node instanceof Y.Map)) break;
            let params = node.get('params');
            if (!(params instanceof Y.Map)) {
              params = new Y.Map<unknown>();
              node.set('params', params);
            }
            // Only the keys the op names: other params may be under concurrent edit.
            const target = params as Y.Map<unknown>;
            for (const [k, v] of Object.entries(op.params)) {
              const current = target.get(k);
              if (v === undefined) target.delete(k);
              else if (isPlainObject(v) && current instanceof Y.Map)
                patchMap(current as Y.Map<unknown>, v);
              else target.set(k, toYValue(v));
            }
            break;
          }
        }
      });
    }, SERVER_ORIGIN);
  }

  #forgetNode(id: string): void {
    delete this.#applied.nodes[id];
    for (const [key, c] of Object.entries(this.#applied.connections)) {
      if (c.from.node === id || c.to.node === id) delete this.#applied.connections[key];
    }
  }

  /** E7: a connection the engine dropped on its own (an endpoint failed) leaves the document too. */
  #engineDropped(c: Connection): void {
    const key = connectionId(c);
    if (!Object.hasOwn(this.#applied.connections, key)) return;
    const live = this.#o.engine.snapshot().connections.some((x) => connectionId(x) === key);
    if (live) return;
    delete this.#applied.connections[key];
    const { connections } = documentMaps(this.#o.doc);
    if (connections.has(key)) this.#o.doc.transact(() => connections.delete(key), SERVER_ORIGIN);
  }

  /**
   * Brings the engine to what the document says, op by op. `edit`: what is refused is undone
   * in the document and reported. `restore` (server start): what is refused stays in the
   * document untouched (a restart must not delete anyone's work) and is remembered as skipped.
   */
  async #reconcile(
    mode: 'edit' | 'restore',
    identity: Identity | undefined,
    stamps: ReadonlyMap<string, EditStamp>,
    touched?: Touched,
  ): Promise<Problem[]> {
    if (this.#disposed) return [];
    const { doc, engine } = this.#o;
    const { nodes: nodesMap, connections: connMap, meta: metaMap } = documentMaps(doc);
    const M = this.#applied;
    const { D, malformed, nodeIds, connectionKeys } = this.#documentView(touched);
    const refused: Problem[] = [];
    const rollback: Array<() => void> = [];
    const restoreNode = (id: string) => {
      const keep = Object.hasOwn(M.nodes, id) ? M.nodes[id] : undefined;
      const skipped = this.#skippedNodes.get(id);
      if (keep) rollback.push(() => nodesMap.set(id, createNodeMap(keep)));
      else if (skipped)
        rollback.push(() => nodesMap.set(id, createNodeMap(JSON.parse(skipped) as PipelineNode)));
      else rollback.push(() => nodesMap.delete(id));
    };
    const restoreConnection = (key: string) => {
      const keep = Object.hasOwn(M.connections, key) ? M.connections[key] : undefined;
      if (keep) rollback.push(() => connMap.set(key, plainConnection(keep)));
      else rollback.push(() => connMap.delete(key));
    };

    if (mode === 'edit' && identity && !canWrite(identity.role)) {
      // The rooms drop a viewer's writes; this is the second line: undo the whole transaction.
      this.#restoreAll();
      this.#o.onRefused(identity, [readOnly()]);
      return [readOnly()];
    }

    // A malformed entry counts as unchanged (the view kept the engine's version) and is put back.
    if (mode === 'edit') {
      for (const p of malformed) {
        if (p.where === 'node') restoreNode(p.key);
        else if (p.where === 'connection') restoreConnection(p.key);
        else rollback.push(() => restoreMeta(metaMap, M));
        refused.push(
          problem(
            'bad_request',
            `${p.where} ${p.key}: ${p.message}`,
            p.where === 'node' ? p.key : undefined,
          ),
        );
      }
    }

    // 1. Connections gone from the document (or whose mode changed: reconnected below).
    for (const key of connectionKeys) {
      const c = Object.hasOwn(M.connections, key) ? M.connections[key] : undefined;
      if (!c) continue;
      const next = Object.hasOwn(D.connections, key) ? D.connections[key] : undefined;
      if (next && next.mode === c.mode) continue;
      await engine.disconnect(c.from, c.to);
      delete M.connections[key];
    }
    // 2. Nodes gone from the document.
    for (const id of nodeIds) {
      if (!Object.hasOwn(M.nodes, id) || Object.hasOwn(D.nodes, id)) continue;
      await engine.removeNode(id);
      this.#forgetNode(id);
    }
    for (const id of [...this.#skippedNodes.keys()])
      if (!Object.hasOwn(D.nodes, id)) this.#skippedNodes.delete(id);
    // 3. Nodes: added, replaced (a duplicate add, E6), retuned.
    for (const id of nodeIds) {
      const node = Object.hasOwn(D.nodes, id) ? D.nodes[id] : undefined;
      if (!node) continue;
      const old = Object.hasOwn(M.nodes, id) ? M.nodes[id] : undefined;
      if (old && old.kind !== node.kind) {
        refused.push(
          problem('duplicate_node', `node ${id} already exists (${old.kind}); remove it first`, id),
        );
        restoreNode(id);
        continue;
      }
      if (!old) {
        if (this.#skippedNodes.get(id) === JSON.stringify(node)) continue;
        const denied = identity && this.#o.authenticator.checkKind(identity, node.kind, id);
        const r = denied ? err(denied) : await engine.addNode(id, node.kind, node.params);
        if (r.ok) {
          setOwn(M.nodes, id, cloneNode(node));
          this.#skippedNodes.delete(id);
          const stamp = stamps.get(id);
          if (stamp) await engine.tune(id, {}, stamp);
        } else if (mode === 'restore') {
          this.#skippedNodes.set(id, JSON.stringify(node));
          refused.push(r.error);
        } else {
          refused.push(r.error);
          restoreNode(id);
        }
        continue;
      }
      const delta = paramsDelta(old.params, node.params);
      const stamp = stamps.get(id);
      if (delta) {
        const r = await engine.tune(id, delta, stamp);
        if (r.ok) old.params = JSON.parse(JSON.stringify(node.params)) as Record<string, unknown>;
        else {
          refused.push(r.error);
          const params = (nodesMap.get(id) as Y.Map<unknown> | undefined)?.get('params');
          const keep = JSON.parse(JSON.stringify(old.params)) as Record<string, unknown>;
          rollback.push(() => {
            if (params instanceof Y.Map) patchMap(params as Y.Map<unknown>, keep);
          });
        }
      } else if (stamp) {
        // The edit was already applied (coalesced with an earlier one): still record its revision.
        await engine.tune(id, {}, stamp);
      }
      if (node.position) old.position = { ...node.position };
      else delete old.position;
    }
    // 4. Connections added in the document.
    for (const key of connectionKeys) {
      const c = Object.hasOwn(D.connections, key) ? D.connections[key] : undefined;
      if (!c || Object.hasOwn(M.connections, key)) continue;
      if (this.#skippedConnections.get(key) === JSON.stringify(c)) continue;
      let r: Result<unknown>;
      if (!Object.hasOwn(M.nodes, c.from.node) || !Object.hasOwn(M.nodes, c.to.node)) {
        const missing = Object.hasOwn(M.nodes, c.from.node) ? c.to.node : c.from.node;
        r = err(problem('unknown_node', `connect: node ${missing} does not exist`, missing));
      } else if (closesCycle(Object.values(M.connections), c.from.node, c.to.node)) {
        r = err(cycle(c.from.node, c.to.node));
      } else {
        r = await engine.connect(c.from, c.to, c.mode);
      }
      if (r.ok) {
        setOwn(M.connections, key, { ...c, from: { ...c.from }, to: { ...c.to } });
        this.#skippedConnections.delete(key);
      } else if (mode === 'restore') {
        this.#skippedConnections.set(key, JSON.stringify(c));
        refused.push(r.error);
      } else {
        refused.push(r.error);
        restoreConnection(key);
      }
    }
    for (const key of [...this.#skippedConnections.keys()])
      if (!Object.hasOwn(D.connections, key)) this.#skippedConnections.delete(key);
    // 5. Name, description, mode: document data only.
    if (D.name === undefined) delete M.name;
    else if (D.name !== M.name) {
      M.name = D.name;
      if (mode === 'edit') await this.#o.onRenamed?.(D.name);
    }
    if (D.description === undefined) delete M.description;
    else M.description = D.description;
    M.mode = D.mode;

    if (rollback.length > 0) {
      doc.transact(() => {
        for (const undo of rollback) undo();
      }, SERVER_ORIGIN);
    }
    if (stamps.size > 0) sweepStamps(doc, SERVER_ORIGIN, stamps.keys());
    if (refused.length > 0) {
      if (mode === 'edit') {
        this.#o.log.info(
          { session: this.#o.session, user: identity?.userId, refused },
          'document edit refused and undone',
        );
        this.#o.onRefused(identity, refused);
      } else {
        this.#o.log.warn(
          { session: this.#o.session, refused },
          'stored nodes the engine refused at restore',
        );
      }
    }
    return refused;
  }

  /**
   * What the document says, as far as this reconcile needs it. Without `touched` (restore) the
   * whole document is read. With it, only the entries the transaction touched are read; every
   * other entry is taken to equal the engine's mirror (plus entries skipped at restore), so an
   * edit costs what it changed, not the size of the pipeline. A malformed entry keeps the
   * mirror's version and is reported. `nodeIds` / `connectionKeys` are the entries to compare.
   */
  #documentView(touched: Touched | undefined): {
    D: Pipeline;
    malformed: DocumentProblem[];
    nodeIds: string[];
    connectionKeys: string[];
  } {
    const M = this.#applied;
    const { nodes: nodesMap, connections: connMap } = documentMaps(this.#o.doc);
    if (!touched) {
      const { pipeline: D, problems } = readPipelineChecked(this.#o.doc);
      for (const p of problems) {
        if (p.where === 'node' && Object.hasOwn(M.nodes, p.key))
          setOwn(D.nodes, p.key, M.nodes[p.key]);
        if (p.where === 'connection' && Object.hasOwn(M.connections, p.key))
          setOwn(D.connections, p.key, M.connections[p.key]);
      }
      return {
        D,
        malformed: problems,
        nodeIds: [...new Set([...Object.keys(M.nodes), ...Object.keys(D.nodes)])].sort(),
        connectionKeys: [
          ...new Set([...Object.keys(M.connections), ...Object.keys(D.connections)]),
        ].sort(),
      };
    }
    // Untouched entries: the mirror, and what restore skipped (still in the document).
    const D: Pipeline = { ...M, nodes: { ...M.nodes }, connections: { ...M.connections } };
    for (const [id, json] of this.#skippedNodes) setOwn(D.nodes, id, JSON.parse(json));
    for (const [key, json] of this.#skippedConnections)
      setOwn(D.connections, key, JSON.parse(json));
    const malformed: DocumentProblem[] = [];
    const nodeIds = [...touched.nodes].sort();
    for (const id of nodeIds) {
      if (!nodesMap.has(id)) {
        delete D.nodes[id];
        continue;
      }
      const node = NodeIdSchema.safeParse(id).success
        ? readNode(nodesMap.get(id))
        : `bad node id '${id}'`;
      if (typeof node === 'string') {
        malformed.push({ where: 'node', key: id, message: node });
        if (!Object.hasOwn(M.nodes, id)) delete D.nodes[id];
      } else setOwn(D.nodes, id, node);
    }
    // Connections the transaction touched, and those of touched nodes (a client may remove a
    // node and leave its connections behind: they are refused then).
    const keys = new Set(touched.connections);
    const nodeSet = touched.nodes;
    for (const [key, c] of Object.entries(D.connections)) {
      if (nodeSet.has(c.from.node) || nodeSet.has(c.to.node)) keys.add(key);
    }
    const connectionKeys = [...keys].sort();
    for (const key of connectionKeys) {
      if (!connMap.has(key)) {
        delete D.connections[key];
        continue;
      }
      const c = readConnection(key, connMap.get(key));
      if (typeof c === 'string') {
        malformed.push({ where: 'connection', key, message: c });
        if (!Object.hasOwn(M.connections, key)) delete D.connections[key];
      } else setOwn(D.connections, key, c);
    }
    if (touched.meta) {
      const meta = readPipelineMeta(this.#o.doc);
      malformed.push(...meta.problems);
      if (meta.problems.length === 0) {
        if (meta.name === undefined) delete D.name;
        else D.name = meta.name;
        if (meta.description === undefined) delete D.description;
        else D.description = meta.description;
        D.mode = meta.mode;
      }
    }
    return { D, malformed, nodeIds, connectionKeys };
  }

  /** Put the document back to exactly what the engine runs (plus entries skipped at restore). */
  #restoreAll(): void {
    const target = clonePipeline(this.#applied);
    for (const [id, json] of this.#skippedNodes) setOwn(target.nodes, id, JSON.parse(json));
    for (const [key, json] of this.#skippedConnections)
      setOwn(target.connections, key, JSON.parse(json));
    writePipeline(this.#o.doc, target, SERVER_ORIGIN);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

/** The keys of `map` a transaction changed (undefined when it did not change it). */
function changedKeys(tr: Y.Transaction, map: Y.Map<unknown>): Set<string | null> | undefined {
  for (const [type, keys] of tr.changed) if ((type as unknown) === map) return keys;
  return undefined;
}

function restoreMeta(meta: Y.Map<unknown>, p: Pipeline): void {
  for (const key of ['name', 'description'] as const) {
    const v = p[key];
    if (v === undefined) meta.delete(key);
    else meta.set(key, v);
  }
  meta.set('mode', p.mode ?? 'dynamic');
}

function readOnly(): Problem {
  return problem('read_only', 'viewers can watch this session but not change it');
}

function cycle(from: string, to: string): Problem {
  return problem('cycle', `connect: ${from} → ${to} would close a cycle`, to);
}
