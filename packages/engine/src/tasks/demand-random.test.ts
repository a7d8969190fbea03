import { describe, expect, it } from 'vitest';
import { CACHED_VERSIONS_PER_NODE } from './demand-runner';
import { add, taskEngine, value } from './testing/task-harness';

/** mulberry32: a small seeded generator, so a failing sequence can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NODES = 7;
const STEPS = 40;

describe('X6 seeded random edits and demands', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`[X6] outputs always equal a fresh evaluation, and only changed nodes rerun (seed ${seed})`, async () => {
      const random = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const t = taskEngine();
      const ids = Array.from({ length: NODES }, (_, i) => `n${i}`);
      await t.build(ids.map((id) => add(id, 'test::count', { label: id })));
      const labels = new Map(ids.map((id) => [id, id]));
      // Per node, the input keys the engine's cache should hold (its last CACHED_VERSIONS_PER_NODE
      // executions), to know exactly which nodes must rerun.
      const cachedKeys = new Map<string, string[]>();

      /** What `id` must output now, from the engine's graph (edges go from lower to higher ids). */
      const reference = (id: string): string => {
        const incoming = t.engine
          .snapshot()
          .connections.filter((c) => c.to.node === id)
          .sort((a, b) => a.to.pin.localeCompare(b.to.pin));
        return `${labels.get(id)}(${incoming.map((c) => reference(c.from.node)).join(',')})`;
      };
      /** Like `reference`, with the pins: the identity of a node's input version. */
      const key = (id: string): string => {
        const incoming = t.engine
          .snapshot()
          .connections.filter((c) => c.to.node === id)
          .sort((a, b) => a.to.pin.localeCompare(b.to.pin));
        return `${labels.get(id)}(${incoming.map((c) => `${c.to.pin}=${key(c.from.node)}`).join(',')})`;
      };
      const upstreamOf = (id: string, acc = new Set<string>()): Set<string> => {
        acc.add(id);
        for (const c of t.engine.snapshot().connections)
          if (c.to.node === id && !acc.has(c.from.node)) upstreamOf(c.from.node, acc);
        return acc;
      };

      for (let step = 0; step < STEPS; step++) {
        const what = random();
        const context = `seed ${seed} step ${step}`;
        if (what < 0.25) {
          const id = pick(ids);
          const label = `${id}v${Math.floor(random() * 3)}`;
          labels.set(id, label);
          value(await t.engine.tune(id, { label }));
        } else if (what < 0.45) {
          const i = Math.floor(random() * (NODES - 1));
          const j = i + 1 + Math.floor(random() * (NODES - 1 - i));
          const r = await t.engine.connect({ node: ids[i]!, pin: 'out' }, { node: ids[j]! });
          expect(r.ok || r.error.code === 'duplicate_connection', context).toBe(true);
        } else if (what < 0.6) {
          const conns = t.engine.snapshot().connections;
          if (conns.length > 0) {
            const c = pick(conns);
            value(await t.engine.disconnect(c.from, c.to));
          }
        } else {
          const id = pick(ids);
          const before = new Map(t.executions);
          const { end } = await t.demandAndWait(id);
          expect(end, context).toMatchObject({ type: 'run_completed', output: reference(id) });
          // Exactly the upstream nodes whose expression changed since they last ran were executed.
          const ran = ids.filter((n) => (t.executions.get(n) ?? 0) !== (before.get(n) ?? 0));
          const changed = [...upstreamOf(id)].filter(
            (n) => !(cachedKeys.get(n) ?? []).includes(key(n)),
          );
          expect(ran.sort(), context).toEqual(changed.sort());
          for (const n of changed) {
            const keys = [...(cachedKeys.get(n) ?? []), key(n)];
            cachedKeys.set(n, keys.slice(-CACHED_VERSIONS_PER_NODE));
          }
          // An immediate re-demand recomputes nothing.
          const again = await t.demandAndWait(id);
          expect(t.nodesWith(again.run, 'node_run_started'), context).toEqual([]);
        }
      }
    });
  }
});
