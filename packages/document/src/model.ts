/**
 * The shared pipeline document: how a protocol `Pipeline` lives in a `Y.Doc`.
 *
 * Layout (root types of the doc):
 * - `nodes`: `Y.Map<id, Y.Map>`; each node map holds `kind` (string), `params` (a `Y.Map`
 *   whose plain-object values are nested `Y.Map`s too, so concurrent edits of different
 *   params, or of different layers of one compositor, all win), `position` (`{x, y}`, written
 *   whole) and `_stamps` (see stamps.ts).
 * - `connections`: `Y.Map<connectionId, {from, to, mode}>` (plain values: a connection is
 *   added or removed whole, never edited).
 * - `meta`: `Y.Map` with `name`, `description`, `mode`.
 *
 * Maps keyed by id, never arrays: concurrent inserts into a `Y.Array` duplicate and its deletes
 * are by index. Any client can write anything into the document, so reading is defensive:
 * malformed entries are reported, never thrown on.
 */
import * as Y from 'yjs';
import {
  ConnectionModeSchema,
  EDIT_STAMPS_KEY,
  NodeIdSchema,
  PinNameSchema,
  connectionId,
} from '@patchbay/protocol';
import type {
  Connection,
  Pipeline,
  PipelineMode,
  PipelineNode,
  Position,
} from '@patchbay/protocol';

export const NODES_KEY = 'nodes';
export const CONNECTIONS_KEY = 'connections';
export const META_KEY = 'meta';
export const KIND_KEY = 'kind';
export const PARAMS_KEY = 'params';
export const POSITION_KEY = 'position';

/** A malformed document entry: what `readPipelineChecked` skipped, and where. */
export interface DocumentProblem {
  readonly where: 'node' | 'connection' | 'meta';
  /** The node id, the connection key or the meta key. */
  readonly key: string;
  readonly message: string;
}

/** The root maps of a pipeline document. */
export function documentMaps(doc: Y.Doc): {
  nodes: Y.Map<unknown>;
  connections: Y.Map<unknown>;
  meta: Y.Map<unknown>;
} {
  return {
    nodes: doc.getMap(NODES_KEY),
    connections: doc.getMap(CONNECTIONS_KEY),
    meta: doc.getMap(META_KEY),
  };
}

type Plain = Record<string, unknown>;

function isPlainObject(value: unknown): value is Plain {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (value instanceof Uint8Array) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A plain value as it goes into the document: objects become `Y.Map`s, recursively. */
export function toYValue(value: unknown): unknown {
  if (isPlainObject(value)) {
    const map = new Y.Map<unknown>();
    for (const [k, v] of Object.entries(value)) if (v !== undefined) map.set(k, toYValue(v));
    return map;
  }
  return value;
}

/** A document value as plain data, dropping `_`-prefixed keys at every depth (S3). */
export function fromYValue(value: unknown): unknown {
  if (value instanceof Y.Map) {
    const out: Plain = {};
    const keys = [...(value as Y.Map<unknown>).keys()].sort();
    for (const k of keys) {
      if (k.startsWith('_')) continue;
      Object.defineProperty(out, k, {
        value: fromYValue((value as Y.Map<unknown>).get(k)),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (value instanceof Y.AbstractType) return value.toJSON();
  if (Array.isArray(value)) return value.map(fromYValue);
  if (isPlainObject(value)) {
    const out: Plain = {};
    for (const k of Object.keys(value).sort()) {
      if (k.startsWith('_')) continue;
      Object.defineProperty(out, k, {
        value: fromYValue(value[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function readPosition(value: unknown): Position | undefined | false {
  if (value === undefined) return undefined;
  const plain = value instanceof Y.Map ? fromYValue(value) : value;
  if (!isPlainObject(plain)) return false;
  const { x, y } = plain;
  if (typeof x !== 'number' || typeof y !== 'number' || !isFinite(x) || !isFinite(y)) return false;
  return { x, y };
}

/** One node map as a `PipelineNode`, or why it cannot be read. */
export function readNode(value: unknown): PipelineNode | string {
  if (!(value instanceof Y.Map)) return 'a node must be a map';
  const node = value as Y.Map<unknown>;
  const kind = node.get(KIND_KEY);
  if (typeof kind !== 'string' || kind.length === 0) return 'a node needs a kind';
  const rawParams = node.get(PARAMS_KEY);
  let params: Plain = {};
  if (rawParams !== undefined) {
    const plain = fromYValue(rawParams);
    if (!isPlainObject(plain)) return 'params must be a map';
    params = plain;
  }
  const position = readPosition(node.get(POSITION_KEY));
  if (position === false) return 'position must be {x, y} numbers';
  return position === undefined ? { kind, params } : { kind, params, position };
}

function readEndpoint(value: unknown): { node: string; pin: string } | undefined {
  if (!isPlainObject(value)) return undefined;
  const { node, pin } = value;
  if (!NodeIdSchema.safeParse(node).success || !PinNameSchema.safeParse(pin).success)
    return undefined;
  return { node: node as string, pin: pin as string };
}

/** One connection entry, checked against its key (the canonical `connectionId`). */
export function readConnection(key: string, value: unknown): Connection | string {
  const plain = value instanceof Y.Map ? fromYValue(value) : value;
  if (!isPlainObject(plain)) return 'a connection must be {from, to, mode}';
  const from = readEndpoint(plain.from);
  const to = readEndpoint(plain.to);
  if (!from || !to) return 'a connection needs from and to, each {node, pin}';
  const mode = ConnectionModeSchema.safeParse(plain.mode ?? 'reliable');
  if (!mode.success) return 'mode must be reliable or best_effort';
  const c: Connection = { from, to, mode: mode.data };
  if (connectionId(c) !== key) return `a connection's key must be ${connectionId(c)}`;
  return c;
}

/** The durable pipeline the document holds, and every malformed entry it skipped. */
export function readPipelineChecked(doc: Y.Doc): {
  pipeline: Pipeline;
  problems: DocumentProblem[];
} {
  const { nodes, connections } = documentMaps(doc);
  const problems: DocumentProblem[] = [];
  const pipeline: Pipeline = { mode: 'dynamic', nodes: {}, connections: {} };

  const read = readPipelineMeta(doc);
  problems.push(...read.problems);
  pipeline.mode = read.mode;
  if (read.name !== undefined) pipeline.name = read.name;
  if (read.description !== undefined) pipeline.description = read.description;

  for (const id of [...nodes.keys()].sort()) {
    if (!NodeIdSchema.safeParse(id).success) {
      problems.push({ where: 'node', key: id, message: `bad node id '${id}'` });
      continue;
    }
    const node = readNode(nodes.get(id));
    if (typeof node === 'string') problems.push({ where: 'node', key: id, message: node });
    else
      Object.defineProperty(pipeline.nodes, id, {
        value: node,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  for (const key of [...connections.keys()].sort()) {
    const c = readConnection(key, connections.get(key));
    if (typeof c === 'string') problems.push({ where: 'connection', key, message: c });
    else
      Object.defineProperty(pipeline.connections, key, {
        value: c,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return { pipeline, problems };
}

/** The pipeline's name, description and mode, and any malformed meta entry. */
export function readPipelineMeta(doc: Y.Doc): {
  name?: string;
  description?: string;
  mode: PipelineMode;
  problems: DocumentProblem[];
} {
  const { meta } = documentMaps(doc);
  const problems: DocumentProblem[] = [];
  const out: {
    name?: string;
    description?: string;
    mode: PipelineMode;
    problems: DocumentProblem[];
  } = { mode: 'dynamic', problems };
  const name = meta.get('name');
  const description = meta.get('description');
  const mode = meta.get('mode');
  if (typeof name === 'string') out.name = name;
  else if (name !== undefined)
    problems.push({ where: 'meta', key: 'name', message: 'name must be text' });
  if (typeof description === 'string') out.description = description;
  else if (description !== undefined)
    problems.push({ where: 'meta', key: 'description', message: 'description must be text' });
  if (mode === 'dynamic' || mode === 'oneshot') out.mode = mode;
  else if (mode !== undefined)
    problems.push({ where: 'meta', key: 'mode', message: 'mode must be dynamic or oneshot' });
  return out;
}

/** The durable pipeline the document holds (S3: no `_` keys, no stamps); malformed entries skipped. */
export function readPipeline(doc: Y.Doc): Pipeline {
  return readPipelineChecked(doc).pipeline;
}

/** Deep equality of plain JSON-like values (key order ignored). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => sameValue(v, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]));
  }
  return false;
}

/** A fresh node map: kind, params, optional position and an empty stamp map (S2). */
export function createNodeMap(node: PipelineNode): Y.Map<unknown> {
  const map = new Y.Map<unknown>();
  map.set(KIND_KEY, node.kind);
  map.set(PARAMS_KEY, toYValue(node.params ?? {}));
  if (node.position) map.set(POSITION_KEY, { x: node.position.x, y: node.position.y });
  // Created with the node so concurrent editors never race to create it (one map would win
  // and the other's stamp would be lost).
  map.set(EDIT_STAMPS_KEY, new Y.Map<unknown>());
  return map;
}

/** Make `target` (a `Y.Map`) hold exactly `value`'s keys, touching only what differs. */
export function patchMap(target: Y.Map<unknown>, value: Plain): void {
  for (const key of [...target.keys()]) {
    if (key.startsWith('_')) continue;
    if (!Object.hasOwn(value, key) || value[key] === undefined) target.delete(key);
  }
  for (const [key, next] of Object.entries(value)) {
    if (next === undefined) continue;
    const current = target.get(key);
    if (isPlainObject(next) && current instanceof Y.Map) {
      patchMap(current as Y.Map<unknown>, next);
      continue;
    }
    if (!sameValue(fromYValue(current), next)) target.set(key, toYValue(next));
  }
}

/**
 * Replace the document's pipeline with `pipeline` in one transaction (YAML PUT, import). Only
 * what differs is written: unchanged nodes keep their maps, so concurrent edits of them survive
 * and the session's engine sees the smallest change.
 */
export function writePipeline(doc: Y.Doc, pipeline: Pipeline, origin: unknown): void {
  const { nodes, connections, meta } = documentMaps(doc);
  doc.transact(() => {
    for (const key of ['name', 'description'] as const) {
      const v = pipeline[key];
      if (v === undefined) {
        if (meta.has(key)) meta.delete(key);
      } else if (meta.get(key) !== v) meta.set(key, v);
    }
    const mode = pipeline.mode ?? 'dynamic';
    if (meta.get('mode') !== mode) meta.set('mode', mode);

    for (const id of [...nodes.keys()]) if (!Object.hasOwn(pipeline.nodes, id)) nodes.delete(id);
    for (const [id, node] of Object.entries(pipeline.nodes)) {
      const current = nodes.get(id);
      if (!(current instanceof Y.Map) || current.get(KIND_KEY) !== node.kind) {
        nodes.set(id, createNodeMap(node));
        continue;
      }
      const map = current as Y.Map<unknown>;
      const params = map.get(PARAMS_KEY);
      if (params instanceof Y.Map) patchMap(params as Y.Map<unknown>, node.params ?? {});
      else map.set(PARAMS_KEY, toYValue(node.params ?? {}));
      const position = readPosition(map.get(POSITION_KEY));
      if (node.position === undefined) {
        if (map.has(POSITION_KEY)) map.delete(POSITION_KEY);
      } else if (!position || position.x !== node.position.x || position.y !== node.position.y) {
        map.set(POSITION_KEY, { x: node.position.x, y: node.position.y });
      }
      if (!(map.get(EDIT_STAMPS_KEY) instanceof Y.Map)) map.set(EDIT_STAMPS_KEY, new Y.Map());
    }

    const wanted = new Map<string, Connection>();
    for (const c of Object.values(pipeline.connections)) wanted.set(connectionId(c), c);
    for (const key of [...connections.keys()]) if (!wanted.has(key)) connections.delete(key);
    for (const [key, c] of wanted) {
      const plain = plainConnection(c);
      if (!sameValue(fromYValue(connections.get(key)), plain)) connections.set(key, plain);
    }
  }, origin);
}

/** A connection as the document stores it. */
export function plainConnection(c: Connection): Plain {
  return {
    from: { node: c.from.node, pin: c.from.pin },
    to: { node: c.to.node, pin: c.to.pin },
    mode: c.mode ?? 'reliable',
  };
}
