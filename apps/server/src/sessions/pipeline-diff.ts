/**
 * Pure helpers over protocol pipelines that the session bridge shares between its paths
 * (document edits, control ops, YAML replace): the ops that turn one pipeline into another,
 * and the cycle check the engine leaves to its hosts.
 */
import { sameValue } from '@patchbay/document';
import type { Connection, GraphOpInput, Pipeline, PipelineNode } from '@patchbay/protocol';

/** The params keys that differ, as a partial update: removed keys map to `undefined`. */
export function paramsDelta(
  from: Readonly<Record<string, unknown>>,
  to: Readonly<Record<string, unknown>>,
): Record<string, unknown> | undefined {
  const delta: Record<string, unknown> = {};
  let changed = false;
  for (const key of Object.keys(from)) {
    if (!Object.hasOwn(to, key)) {
      setOwn(delta, key, undefined);
      changed = true;
    }
  }
  for (const [key, value] of Object.entries(to)) {
    if (!Object.hasOwn(from, key) || !sameValue(from[key], value)) {
      setOwn(delta, key, value);
      changed = true;
    }
  }
  return changed ? delta : undefined;
}

/**
 * The graph ops that turn `from` into `to`, in an order the engine accepts as one batch:
 * disconnects, removes (a node whose kind changed is removed and re-added), adds, tunes,
 * connects.
 */
export function diffOps(from: Pipeline, to: Pipeline): GraphOpInput[] {
  const ops: GraphOpInput[] = [];
  const replaced = new Set<string>();
  for (const [id, node] of Object.entries(to.nodes)) {
    const old = Object.hasOwn(from.nodes, id) ? from.nodes[id] : undefined;
    if (old && old.kind !== node.kind) replaced.add(id);
  }
  const gone = (id: string) => !Object.hasOwn(to.nodes, id) || replaced.has(id);
  for (const [key, c] of Object.entries(from.connections)) {
    const next = Object.hasOwn(to.connections, key) ? to.connections[key] : undefined;
    if (gone(c.from.node) || gone(c.to.node)) continue; // removed with its node
    if (!next || next.mode !== c.mode) ops.push({ op: 'disconnect', from: c.from, to: c.to });
  }
  for (const id of Object.keys(from.nodes)) if (gone(id)) ops.push({ op: 'remove_node', id });
  for (const [id, node] of Object.entries(to.nodes)) {
    if (!Object.hasOwn(from.nodes, id) || replaced.has(id)) {
      ops.push({ op: 'add_node', id, kind: node.kind, params: node.params ?? {} });
    }
  }
  for (const [id, node] of Object.entries(to.nodes)) {
    const old = Object.hasOwn(from.nodes, id) ? from.nodes[id] : undefined;
    if (!old || replaced.has(id)) continue;
    const delta = paramsDelta(old.params ?? {}, node.params ?? {});
    if (delta) ops.push({ op: 'tune', id, params: delta });
  }
  for (const [key, c] of Object.entries(to.connections)) {
    const old = Object.hasOwn(from.connections, key) ? from.connections[key] : undefined;
    const kept = old && old.mode === c.mode && !gone(c.from.node) && !gone(c.to.node);
    if (!kept) ops.push({ op: 'connect', from: c.from, to: c.to, mode: c.mode });
  }
  return ops;
}

/**
 * Would the edge `from → to` close a cycle among `connections`? (The engine checks pins and
 * types; cycles are the host's rule, as import's `validatePipeline` reports them.)
 */
export function closesCycle(
  connections: Iterable<Pick<Connection, 'from' | 'to'>>,
  from: string,
  to: string,
): boolean {
  if (from === to) return true;
  const out = new Map<string, string[]>();
  for (const c of connections) {
    const list = out.get(c.from.node);
    if (list) list.push(c.to.node);
    else out.set(c.from.node, [c.to.node]);
  }
  // Is `from` reachable from `to`?
  const seen = new Set<string>([to]);
  const stack = [to];
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    for (const w of out.get(v) ?? []) {
      if (w === from) return true;
      if (!seen.has(w)) {
        seen.add(w);
        stack.push(w);
      }
    }
  }
  return false;
}

/** A copy of a pipeline (plain JSON data). */
export function clonePipeline(p: Pipeline): Pipeline {
  return JSON.parse(JSON.stringify(p)) as Pipeline;
}

/** A copy of a node (plain JSON data). */
export function cloneNode(n: PipelineNode): PipelineNode {
  return JSON.parse(JSON.stringify(n)) as PipelineNode;
}

/** Sets an own property, also for keys like `__proto__` (plain assignment would set the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
