/**
 * Typed edits of the shared pipeline document. Each helper is one gesture in one transaction
 * (`doc.transact(fn, origin)`), so an undo manager tracking `origin` undoes it as a unit and
 * its stamp (S2) travels in the same update as the edit.
 */
import * as Y from 'yjs';
import { EDIT_STAMPS_KEY, connectionId } from '@patchbay/protocol';
import type { Connection, EditStamp, PipelineNode, Position } from '@patchbay/protocol';
import {
  KIND_KEY,
  PARAMS_KEY,
  POSITION_KEY,
  createNodeMap,
  documentMaps,
  plainConnection,
  toYValue,
} from './model';

/** How a caller identifies its transactions (`doc.transact(fn, origin)`). */
export interface EditOptions {
  readonly origin?: unknown;
  /** S2: the editing connection's `(sender, rev)` for this node, written with the edit. */
  readonly stamp?: EditStamp;
}

function nodeMap(doc: Y.Doc, id: string): Y.Map<unknown> | undefined {
  const node = documentMaps(doc).nodes.get(id);
  return node instanceof Y.Map ? (node as Y.Map<unknown>) : undefined;
}

function writeStamp(node: Y.Map<unknown>, stamp: EditStamp | undefined): void {
  if (!stamp) return;
  let stamps = node.get(EDIT_STAMPS_KEY);
  if (!(stamps instanceof Y.Map)) {
    stamps = new Y.Map<unknown>();
    node.set(EDIT_STAMPS_KEY, stamps);
  }
  (stamps as Y.Map<unknown>).set(stamp.sender, stamp.rev);
}

/** Add a node (replacing any node of that id: the server refuses that as a duplicate, E6). */
export function addNode(
  doc: Y.Doc,
  id: string,
  node: PipelineNode,
  options: EditOptions = {},
): void {
  doc.transact(() => {
    const map = createNodeMap(node);
    documentMaps(doc).nodes.set(id, map);
    writeStamp(map, options.stamp);
  }, options.origin);
}

/** Remove a node and every connection touching it (one gesture). */
export function removeNode(doc: Y.Doc, id: string, options: EditOptions = {}): boolean {
  const { nodes, connections } = documentMaps(doc);
  if (!nodes.has(id)) return false;
  doc.transact(() => {
    nodes.delete(id);
    for (const [key, value] of [...connections.entries()]) {
      const c = value as Partial<Connection> | undefined;
      if (c?.from?.node === id || c?.to?.node === id) connections.delete(key);
    }
  }, options.origin);
  return true;
}

/**
 * Set one param; `path` names a nested key (`['layers', 'in_1', 'opacity']`), creating the maps
 * on the way. `undefined` deletes it. Returns false when the node (or a parent value) is missing.
 */
export function setParam(
  doc: Y.Doc,
  id: string,
  path: string | readonly string[],
  value: unknown,
  options: EditOptions = {},
): boolean {
  return setParams(doc, id, [[path, value]], options);
}

/** Several params of one node in one gesture (e.g. a layer's x and y while dragging). */
export function setParams(
  doc: Y.Doc,
  id: string,
  entries: Iterable<readonly [string | readonly string[], unknown]>,
  options: EditOptions = {},
): boolean {
  const node = nodeMap(doc, id);
  if (!node) return false;
  let done = true;
  doc.transact(() => {
    let params = node.get(PARAMS_KEY);
    if (!(params instanceof Y.Map)) {
      params = new Y.Map<unknown>();
      node.set(PARAMS_KEY, params);
    }
    for (const [rawPath, value] of entries) {
      const path = typeof rawPath === 'string' ? [rawPath] : rawPath;
      const last = path[path.length - 1];
      if (last === undefined) {
        done = false;
        continue;
      }
      const target = parentMap(params as Y.Map<unknown>, path.slice(0, -1));
      if (!target) {
        done = false;
        continue;
      }
      if (value === undefined) target.delete(last);
      else target.set(last, toYValue(value));
    }
    writeStamp(node, options.stamp);
  }, options.origin);
  return done;
}

/** The map at `path` under `root`, creating missing maps; undefined when a value is in the way. */
function parentMap(root: Y.Map<unknown>, path: readonly string[]): Y.Map<unknown> | undefined {
  let target = root;
  for (const key of path) {
    let next = target.get(key);
    if (next === undefined) {
      next = new Y.Map<unknown>();
      target.set(key, next);
    }
    if (!(next instanceof Y.Map)) return undefined;
    target = next as Y.Map<unknown>;
  }
  return target;
}

/** Move a node in the editor. */
export function setPosition(
  doc: Y.Doc,
  id: string,
  position: Position,
  options: EditOptions = {},
): boolean {
  const node = nodeMap(doc, id);
  if (!node) return false;
  doc.transact(() => node.set(POSITION_KEY, { x: position.x, y: position.y }), options.origin);
  return true;
}

/** The kind a node map holds, or undefined. */
export function nodeKind(doc: Y.Doc, id: string): string | undefined {
  const kind = nodeMap(doc, id)?.get(KIND_KEY);
  return typeof kind === 'string' ? kind : undefined;
}

/** Add a connection under its canonical key. */
export function connect(doc: Y.Doc, connection: Connection, options: EditOptions = {}): string {
  const key = connectionId(connection);
  doc.transact(() => {
    documentMaps(doc).connections.set(key, plainConnection(connection));
  }, options.origin);
  return key;
}

/** Remove a connection; false when there was none. */
export function disconnect(
  doc: Y.Doc,
  connection: Pick<Connection, 'from' | 'to'>,
  options: EditOptions = {},
): boolean {
  const key = connectionId(connection);
  const { connections } = documentMaps(doc);
  if (!connections.has(key)) return false;
  doc.transact(() => connections.delete(key), options.origin);
  return true;
}

/** Set the pipeline's name or description (`undefined` removes it). */
export function setMeta(
  doc: Y.Doc,
  key: 'name' | 'description',
  value: string | undefined,
  options: EditOptions = {},
): void {
  const { meta } = documentMaps(doc);
  doc.transact(() => {
    if (value === undefined) meta.delete(key);
    else meta.set(key, value);
  }, options.origin);
}
