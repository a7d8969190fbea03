import { describe, expect, it } from 'vitest';
import { NODE_STATUSES, canTransition } from '@patchbay/protocol';
import type { NodeState } from '@patchbay/protocol';
import {
  Engine,
  ILLEGAL_TRANSITIONS_COUNTER,
  NODE_STATE_GAUGE,
  STATS_FLUSH_INTERVAL_MS,
} from './engine';
import type { EngineEvent, EngineOptions, OpResult } from './engine';
import { ManualClock, settle } from './testing/manual-clock';
import { RecordingMetrics } from './testing/recording-metrics';
import { createTestRegistry, creationOf, gate } from './testing/test-kinds';
import { defineNode } from './node-api';
import { z } from 'zod';

function setup(options: Partial<EngineOptions> = {}) {
  const { registry, creations, log } = createTestRegistry();
  const clock = new ManualClock();
  const metrics = new RecordingMetrics();
  const engine = new Engine({ registry, clock, metrics, session: 's1', ...options });
  const events: EngineEvent[] = [];
  engine.subscribe((e) => events.push(e));
  const states = (id: string) =>
    events
      .filter(
        (e): e is Extract<EngineEvent, { type: 'node_state' }> =>
          e.type === 'node_state' && e.node === id,
      )
      .map((e) => e.state.status);
  const hot = (id: string) => metrics.hotStates(NODE_STATE_GAUGE, id);
  return { engine, clock, metrics, creations, log, events, states, hot };
}

function value<T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

function errorCode(r: { ok: boolean; error?: { code: string } }): string | undefined {
  return r.ok ? undefined : r.error?.code;
}

describe('E1 lifecycle', () => {
  it('[E1] the transition table allows exactly the documented moves', () => {
    const allowed = new Set([
      'creating>initializing',
      'creating>failed',
      'initializing>ready',
      'initializing>running',
      'initializing>failed',
      'ready>running',
      'ready>failed',
      'running>recovering',
      'running>degraded',
      'running>failed',
      'running>stopped',
      'recovering>running',
      'recovering>degraded',
      'recovering>failed',
      'degraded>running',
      'degraded>failed',
    ]);
    for (const from of NODE_STATUSES) {
      for (const to of NODE_STATUSES) {
        const expected = allowed.has(`${from}>${to}`) || (to === 'stopped' && from !== 'stopped');
        expect(canTransition(from, to), `${from} → ${to}`).toBe(expected);
      }
    }
  });

  it('[E1] a source goes creating → initializing → ready → running → stopped{completed}', async () => {
    const t = setup();
    await t.engine.addNode('src', 'test::source', { instant: true, hold: false });
    await settle();
    expect(t.states('src')).toEqual(['creating', 'initializing', 'ready', 'running', 'stopped']);
    expect(t.engine.state('src')).toEqual({ status: 'stopped', reason: 'completed' });
  });

  it('[E1] a processor goes creating → initializing → running', async () => {
    const t = setup();
    await t.engine.addNode('p', 'test::proc', { instant: true });
    await settle();
    expect(t.states('p')).toEqual(['creating', 'initializing', 'running']);
  });

  it('[E1] an illegal transition is refused, logged and counted; the state stays', async () => {
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn(_d: object, msg: string) {
        warnings.push(msg);
      },
      child() {
        return logger;
      },
    };
    const t = setup({ logger });
    await t.engine.addNode('h', 'test::health', { instant: true });
    await settle();
    expect(t.states('h')).toEqual(['creating', 'initializing', 'running', 'degraded']);
    expect(t.engine.state('h')).toEqual({ status: 'degraded', reason: 'input jitter' });
    expect(t.metrics.counter(ILLEGAL_TRANSITIONS_COUNTER)).toBe(1);
    expect(warnings).toContain('illegal transition refused');
  });
});

describe('E2 non-blocking add', () => {
  it('[E2] addNode broadcasts creating at once and other messages keep flowing meanwhile', async () => {
    const t = setup();
    value(await t.engine.addNode('live', 'test::proc', { instant: true }));
    await settle();
    const r = await t.engine.addNode('slow', 'test::proc');
    expect(r.ok).toBe(true);
    expect(t.states('slow')).toEqual(['creating']);
    // The slow creation never settles during these 200 requests; each is answered.
    for (let i = 0; i < 200; i++) {
      const tuned = await t.engine.tune('live', { value: i });
      expect(tuned.ok).toBe(true);
    }
    expect(creationOf(t.creations, 'live').instance.tunes.at(-1)?.value).toBe(199);
    expect(t.engine.state('slow')).toEqual({ status: 'creating' });
    creationOf(t.creations, 'slow').gate.resolve();
    await settle();
    expect(t.engine.state('slow')).toEqual({ status: 'running' });
  });
});

describe('E3 creation generation', () => {
  it('[E3] creation ids increase and a finished creation that is not the active one is disposed', async () => {
    const t = setup();
    const a = value(await t.engine.addNode('n', 'test::proc')) as Extract<
      OpResult,
      { op: 'add_node' }
    >;
    value(await t.engine.removeNode('n'));
    const b = value(await t.engine.addNode('n', 'test::proc')) as Extract<
      OpResult,
      { op: 'add_node' }
    >;
    expect(b.creation).toBeGreaterThan(a.creation);
    const first = creationOf(t.creations, 'n', 0);
    const second = creationOf(t.creations, 'n', 1);
    second.gate.resolve();
    await settle();
    first.gate.resolve();
    await settle();
    expect(first.instance.disposed).toBe(1);
    expect(first.instance.started).toBe(false);
    expect(second.instance.disposed).toBe(0);
    expect(second.instance.started).toBe(true);
    expect(t.engine.snapshot().nodes.map((n) => n.id)).toEqual(['n']);
  });
});

describe('E4 remove while creating', () => {
  it('[E4] cancels the creation: node_removed, gauge zeroed, late result disposed', async () => {
    const t = setup();
    await t.engine.addNode('n', 'test::proc');
    expect(t.hot('n')).toEqual(['creating']);
    value(await t.engine.removeNode('n'));
    expect(t.events.at(-1)).toEqual({ type: 'node_removed', node: 'n' });
    expect(t.hot('n')).toEqual([]);
    expect(t.engine.snapshot().nodes).toEqual([]);
    const c = creationOf(t.creations, 'n');
    c.gate.resolve();
    await settle();
    expect(c.instance.disposed).toBe(1);
    expect(c.instance.started).toBe(false);
    expect(t.engine.state('n')).toBeUndefined();
  });

  it('[E4] a creation that fails after its node was removed changes nothing', async () => {
    const t = setup();
    await t.engine.addNode('n', 'test::proc');
    await t.engine.removeNode('n');
    creationOf(t.creations, 'n').gate.reject(new Error('late failure'));
    await settle();
    expect(t.events.filter((e) => e.type === 'node_state' && e.state.status === 'failed')).toEqual(
      [],
    );
  });
});

describe('E5 remove then re-add', () => {
  for (const order of ['first-settles-first', 'second-settles-first'] as const) {
    it(`[E5] the second creation wins (${order}); the node ends fully initialized`, async () => {
      const t = setup();
      await t.engine.addNode('n', 'test::proc');
      await t.engine.removeNode('n');
      await t.engine.addNode('n', 'test::proc');
      const [first, second] = [creationOf(t.creations, 'n', 0), creationOf(t.creations, 'n', 1)];
      const sequence = order === 'first-settles-first' ? [first, second] : [second, first];
      for (const c of sequence) {
        c.gate.resolve();
        await settle();
      }
      expect(t.engine.state('n')).toEqual({ status: 'running' });
      expect(first.instance.disposed).toBe(1);
      expect(second.instance.started).toBe(true);
      expect(t.hot('n')).toEqual(['running']);
    });
  }
});

describe('E6 duplicate add', () => {
  it('[E6] is rejected whether the id is in flight, live, failed or stopped', async () => {
    const t = setup();
    await t.engine.addNode('stopped', 'test::source', { instant: true, hold: false });
    await settle();
    await t.engine.addNode('inflight', 'test::proc');
    await t.engine.addNode('live', 'test::proc', { instant: true });
    await t.engine.addNode('failed', 'test::proc');
    creationOf(t.creations, 'failed').gate.reject(new Error('no model'));
    await settle();
    expect(t.engine.state('failed')?.status).toBe('failed');
    expect(t.engine.state('stopped')?.status).toBe('stopped');
    for (const id of ['inflight', 'live', 'failed', 'stopped']) {
      const r = await t.engine.addNode(id, 'test::proc', { instant: true });
      expect(errorCode(r), id).toBe('duplicate_node');
    }
    // The residue is untouched by the refused add.
    expect(t.engine.state('failed')).toEqual({
      status: 'failed',
      reason: 'creation failed: no model',
    });
  });
});

describe('E7 deferred connections', () => {
  it('[E7] a connect to a creating node is deferred and replayed once both are realized', async () => {
    const t = setup();
    await t.engine.addNode('src', 'test::source', { instant: true, burst: 3 });
    await t.engine.addNode('p', 'test::proc');
    const r = value(await t.engine.connect({ node: 'src' }, { node: 'p' })) as Extract<
      OpResult,
      { op: 'connect' }
    >;
    expect(r.deferred).toBe(true);
    expect(t.engine.snapshot().connections[0]?.deferred).toBe(true);
    creationOf(t.creations, 'p').gate.resolve();
    await settle();
    expect(t.engine.snapshot().connections[0]?.deferred).toBe(false);
    expect(creationOf(t.creations, 'p').instance.received).toHaveLength(3);
  });

  it('[E7] a queued connect is dropped when an endpoint fails or is removed', async () => {
    const t = setup();
    await t.engine.addNode('src', 'test::source', { instant: true });
    await t.engine.addNode('a', 'test::proc');
    await t.engine.addNode('b', 'test::proc');
    value(await t.engine.connect({ node: 'src' }, { node: 'a' }));
    value(await t.engine.connect({ node: 'a' }, { node: 'b' }));
    creationOf(t.creations, 'a').gate.reject(new Error('bad'));
    await settle();
    const removed = t.events.filter((e) => e.type === 'connection_removed');
    expect(removed).toHaveLength(2);
    expect(t.engine.snapshot().connections).toEqual([]);
    value(await t.engine.connect({ node: 'src' }, { node: 'b' }));
    await t.engine.removeNode('b');
    expect(t.engine.snapshot().connections).toEqual([]);
  });

  it('[E7] a disconnect removes a matching queued connect', async () => {
    const t = setup();
    await t.engine.addNode('src', 'test::source', { instant: true, burst: 2 });
    await t.engine.addNode('p', 'test::proc');
    value(await t.engine.connect({ node: 'src' }, { node: 'p' }));
    value(await t.engine.disconnect({ node: 'src', pin: 'out' }, { node: 'p', pin: 'in' }));
    creationOf(t.creations, 'p').gate.resolve();
    await settle();
    expect(t.engine.snapshot().connections).toEqual([]);
    expect(creationOf(t.creations, 'p').instance.received).toHaveLength(0);
  });

  it('[E7] a connect naming a missing node is an immediate error, never queued', async () => {
    const t = setup();
    await t.engine.addNode('p', 'test::proc');
    expect(errorCode(await t.engine.connect({ node: 'ghost' }, { node: 'p' }))).toBe(
      'unknown_node',
    );
    expect(errorCode(await t.engine.connect({ node: 'p' }, { node: 'ghost' }))).toBe(
      'unknown_node',
    );
    expect(t.engine.snapshot().connections).toEqual([]);
  });

  it('[E7] a connect to a failed node is an error and is not kept', async () => {
    const t = setup();
    await t.engine.addNode('src', 'test::source', { instant: true });
    await t.engine.addNode('p', 'test::proc');
    creationOf(t.creations, 'p').gate.reject(new Error('broken'));
    await settle();
    const r = await t.engine.connect({ node: 'src' }, { node: 'p' });
    expect(errorCode(r)).toBe('node_failed');
    expect(t.engine.snapshot().connections).toEqual([]);
  });
});

describe('E8 pending tunes', () => {
  it('[E8] tunes for a creating node are replayed in order after initialization', async () => {
    const t = setup();
    await t.engine.addNode('p', 'test::proc', { value: 1 });
    for (const v of [2, 3, 4]) value(await t.engine.tune('p', { value: v }));
    expect(t.engine.snapshot().nodes[0]?.params.value).toBe(1);
    creationOf(t.creations, 'p').gate.resolve();
    await settle();
    const inst = creationOf(t.creations, 'p').instance;
    expect(inst.paramsAtStart?.value).toBe(4);
    expect(t.engine.snapshot().nodes[0]?.params.value).toBe(4);
  });

  it('[E8] a tune for an unknown node is an error; bad params change nothing', async () => {
    const t = setup();
    expect(errorCode(await t.engine.tune('nope', { value: 1 }))).toBe('unknown_node');
    await t.engine.addNode('p', 'test::proc', { instant: true, value: 5 });
    await settle();
    expect(errorCode(await t.engine.tune('p', { value: 'loud' }))).toBe('bad_params');
    expect(t.engine.snapshot().nodes[0]?.params.value).toBe(5);
  });

  it('[E8] a live tune reaches the running node at once', async () => {
    const t = setup();
    await t.engine.addNode('p', 'test::proc', { instant: true });
    await settle();
    await t.engine.tune('p', { value: 9 });
    expect(creationOf(t.creations, 'p').instance.tunes).toEqual([
      expect.objectContaining({ value: 9 }),
    ]);
  });
});

describe('E9 creation failure', () => {
  it('[E9] a failed creation is failed{reason}, drains queued work and stays visible until removed', async () => {
    const t = setup();
    await t.engine.addNode('src', 'test::source', { instant: true });
    await t.engine.addNode('p', 'test::proc');
    await t.engine.tune('p', { value: 7 });
    await t.engine.connect({ node: 'src' }, { node: 'p' });
    creationOf(t.creations, 'p').gate.reject(new Error('model file missing'));
    await settle();
    expect(t.engine.state('p')).toEqual({
      status: 'failed',
      reason: 'creation failed: model file missing',
    });
    expect(t.engine.snapshot().connections).toEqual([]);
    expect(t.hot('p')).toEqual(['failed']);
    expect(
      t.engine
        .snapshot()
        .nodes.map((n) => n.id)
        .sort(),
    ).toEqual(['p', 'src']);
    value(await t.engine.removeNode('p'));
    expect(t.hot('p')).toEqual([]);
  });
});

describe('E10 activation', () => {
  it('[E10] sources start only when every node is initialized, so no packet is lost', async () => {
    const t = setup();
    await t.engine.addNode('src', 'test::source', { instant: true, burst: 5 });
    await t.engine.addNode('p', 'test::proc');
    await t.engine.connect({ node: 'src' }, { node: 'p' });
    await settle();
    expect(t.engine.state('src')).toEqual({ status: 'ready' });
    expect(creationOf(t.creations, 'src').instance.started).toBe(false);
    creationOf(t.creations, 'p').gate.resolve();
    await settle();
    expect(t.engine.state('src')).toEqual({ status: 'running' });
    expect(
      creationOf(t.creations, 'p').instance.received.map((p) =>
        p.type === 'audio' ? p.samples[0] : -1,
      ),
    ).toEqual([0, 1, 2, 3, 4]);
    expect(t.log.indexOf('start p')).toBeLessThan(t.log.indexOf('start src'));
  });

  it('[E10] a failed node does not hold back the rest', async () => {
    const t = setup();
    await t.engine.addNode('bad', 'test::proc');
    await t.engine.addNode('src', 'test::source', { instant: true });
    await settle();
    expect(t.engine.state('src')).toEqual({ status: 'ready' });
    creationOf(t.creations, 'bad').gate.reject(new Error('x'));
    await settle();
    expect(t.engine.state('src')).toEqual({ status: 'running' });
  });
});

describe('E11 shutdown', () => {
  it('[E11] shutdown while creating discards and disposes in-flight creations; gauges end at zero', async () => {
    const t = setup();
    await t.engine.addNode('slow', 'test::proc');
    await t.engine.addNode('src', 'test::source', { instant: true });
    await t.engine.addNode('live', 'test::proc', { instant: true });
    await t.engine.connect({ node: 'src' }, { node: 'live' });
    await settle();
    let finished = false;
    const done = t.engine.shutdown().then(() => (finished = true));
    await settle();
    await t.clock.advance(100);
    expect(finished).toBe(true);
    await done;
    for (const id of ['slow', 'src', 'live']) expect(t.hot(id), id).toEqual([]);
    const slow = creationOf(t.creations, 'slow');
    slow.gate.resolve();
    await settle();
    expect(slow.instance.disposed).toBe(1);
    expect(slow.instance.started).toBe(false);
    expect(creationOf(t.creations, 'live').instance.disposed).toBe(1);
    expect(creationOf(t.creations, 'src').instance.disposed).toBe(1);
    expect(errorCode(await t.engine.addNode('x', 'test::proc'))).toBe('engine_shut_down');
  });

  it('[E11] shutdown finishes within its bound even if a node ignores the stop', async () => {
    const { registry } = createTestRegistry();
    registry.register(
      defineNode({
        kind: 'test::stubborn',
        description: 'never ends',
        params: z.object({}),
        pins: () => ({ inputs: [], outputs: [] }),
        create: () => ({ run: () => new Promise<void>(() => {}) }),
      }),
    );
    const clock = new ManualClock();
    const engine = new Engine({ registry, clock, shutdownTimeoutMs: 500 });
    await engine.addNode('s', 'test::stubborn');
    await settle();
    let finished = false;
    const done = engine.shutdown().then(() => (finished = true));
    await clock.advance(499);
    expect(finished).toBe(false);
    await clock.advance(1);
    await done;
    expect(finished).toBe(true);
  });
});

describe('E12 state events', () => {
  it('[E12] every subscriber gets every transition, in order', async () => {
    const t = setup();
    const second: string[] = [];
    t.engine.subscribe(
      (e) => e.type === 'node_state' && second.push(`${e.node}:${e.state.status}`),
    );
    await t.engine.addNode('a', 'test::source', { instant: true, hold: false });
    await t.engine.addNode('b', 'test::proc');
    creationOf(t.creations, 'b').gate.resolve();
    await settle();
    const first = t.events
      .filter((e) => e.type === 'node_state')
      .map((e) => `${e.node}:${(e as { state: NodeState }).state.status}`);
    expect(second).toEqual(first);
    expect(first.filter((s) => s.startsWith('a:'))).toEqual([
      'a:creating',
      'a:initializing',
      'a:ready',
      'a:running',
      'a:stopped',
    ]);
  });

  it('[E12] stats are coalesced: latest values, at most once per interval', async () => {
    const t = setup();
    await t.engine.addNode('src', 'test::source', { instant: true, burst: 50, hold: true });
    await t.engine.addNode('k', 'core::sink');
    await t.engine.connect({ node: 'src' }, { node: 'k' });
    await settle(200);
    expect(t.events.filter((e) => e.type === 'node_stats')).toHaveLength(0);
    await t.clock.advance(STATS_FLUSH_INTERVAL_MS);
    const stats = t.events.filter((e) => e.type === 'node_stats' && e.node === 'k');
    expect(stats).toHaveLength(1);
    expect((stats[0] as { stats: Record<string, number> }).stats.packets).toBe(50);
  });
});

describe('E13 one-hot state gauge', () => {
  it('[E13] exactly one state series reads 1 per node after every event, over a seeded random run', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const t = setup();
      let x = seed;
      const rand = (n: number) => {
        x = (x * 1103515245 + 12345) % 2 ** 31;
        return x % n;
      };
      const ids = ['a', 'b', 'c', 'd'];
      const check = () => {
        const live = new Set(t.engine.snapshot().nodes.map((n) => n.id));
        for (const id of ids) {
          const hot = t.hot(id);
          if (live.has(id))
            expect(hot, `seed ${seed} node ${id}`).toEqual([t.engine.state(id)!.status]);
          else expect(hot, `seed ${seed} node ${id}`).toEqual([]);
        }
      };
      for (let step = 0; step < 60; step++) {
        const id = ids[rand(ids.length)]!;
        switch (rand(5)) {
          case 0:
            await t.engine.addNode(id, rand(2) ? 'test::proc' : 'test::source', {
              instant: rand(2) === 0,
            });
            break;
          case 1:
            await t.engine.removeNode(id);
            break;
          case 2: {
            const pending = t.creations.filter((c) => c.id === id);
            const c = pending[pending.length - 1];
            if (c && rand(3) === 0) c.gate.reject(new Error('x'));
            else c?.gate.resolve();
            break;
          }
          case 3:
            await t.engine.connect({ node: id }, { node: ids[rand(ids.length)]! });
            break;
          default:
            await t.engine.tune(id, { value: step });
        }
        await settle();
        check();
      }
      await t.engine.shutdown();
      for (const id of ids) expect(t.hot(id)).toEqual([]);
    }
  });
});

describe('E14 isolation', () => {
  it('[E14] a node that throws goes failed; the loop and other nodes carry on', async () => {
    const t = setup();
    await t.engine.addNode('src', 'test::source', { instant: true, burst: 3 });
    await t.engine.addNode('bad', 'test::thrower', { instant: true });
    await t.engine.addNode('good', 'test::sink', { instant: true });
    await t.engine.connect({ node: 'src' }, { node: 'bad' });
    await t.engine.addNode('src2', 'test::source', { instant: true, burst: 4 });
    await t.engine.connect({ node: 'src2' }, { node: 'good' });
    await settle();
    expect(t.engine.state('bad')).toEqual({ status: 'failed', reason: 'boom in run' });
    expect(creationOf(t.creations, 'good').instance.received).toHaveLength(4);
    expect(t.engine.state('src')?.status).toBe('running');
    expect((await t.engine.addNode('later', 'test::proc', { instant: true })).ok).toBe(true);
  });

  it('[E14] a factory that throws synchronously fails only its node', async () => {
    const { registry } = createTestRegistry();
    registry.register(
      defineNode({
        kind: 'test::sync_throw',
        description: 'throws in create',
        params: z.object({}),
        pins: () => ({ inputs: [], outputs: [] }),
        create: () => {
          throw new Error('sync boom');
        },
      }),
    );
    const engine = new Engine({ registry, clock: new ManualClock() });
    await engine.addNode('x', 'test::sync_throw');
    await settle();
    expect(engine.state('x')).toEqual({ status: 'failed', reason: 'creation failed: sync boom' });
  });
});

describe('E15 batches', () => {
  it('[E15] validateBatch reports every error, applyBatch applies nothing when one op is bad', async () => {
    const t = setup();
    await t.engine.addNode('existing', 'test::proc', { instant: true });
    const ops = [
      { op: 'add_node', id: 'a', kind: 'test::source', params: { instant: true } },
      { op: 'add_node', id: 'existing', kind: 'test::proc' },
      { op: 'add_node', id: 'b', kind: 'no::such' },
      { op: 'connect', from: { node: 'a' }, to: { node: 'ghost' } },
      { op: 'tune', id: 'nobody', params: {} },
      { op: 'frobnicate' },
    ];
    const problems = await t.engine.validateBatch(ops);
    expect(problems.map((p) => p.code)).toEqual([
      'duplicate_node',
      'unknown_kind',
      'unknown_node',
      'unknown_node',
      'bad_request',
    ]);
    const applied = await t.engine.applyBatch(ops);
    expect(applied.ok).toBe(false);
    expect(t.engine.snapshot().nodes.map((n) => n.id)).toEqual(['existing']);
  });

  it('[E15] a batch with remove → add of one id is allowed; a duplicate add is not', async () => {
    const t = setup();
    await t.engine.addNode('n', 'test::proc', { instant: true });
    await settle();
    const ok = await t.engine.applyBatch([
      { op: 'remove_node', id: 'n' },
      { op: 'add_node', id: 'n', kind: 'test::source', params: { instant: true } },
    ]);
    expect(ok.ok).toBe(true);
    await settle();
    expect(t.engine.snapshot().nodes.map((n) => n.kind)).toEqual(['test::source']);
    const dup = await t.engine.validateBatch([
      { op: 'add_node', id: 'm', kind: 'test::proc' },
      { op: 'add_node', id: 'm', kind: 'test::proc' },
    ]);
    expect(dup.map((p) => p.code)).toEqual(['duplicate_node']);
  });

  it('[E15] a batch gets the same permission checks as single ops: oneshot-only kinds, allowlist, path sandbox', async () => {
    const t = setup({ policy: { allowedKinds: ['test::proc', 'test::file', 'io::output'] } });
    const single = await t.engine.addNode('o', 'io::output');
    expect(errorCode(single)).toBe('oneshot_only');
    const problems = await t.engine.validateBatch([
      { op: 'add_node', id: 'o', kind: 'io::output' },
      { op: 'add_node', id: 's', kind: 'test::source' },
      { op: 'add_node', id: 'f', kind: 'test::file', params: { path: '../../etc/passwd' } },
      { op: 'add_node', id: 'g', kind: 'test::file', params: { path: '/etc/passwd' } },
      { op: 'add_node', id: 'ok', kind: 'test::file', params: { path: 'clips/intro.wav' } },
    ]);
    expect(problems.map((p) => [p.code, p.node])).toEqual([
      ['oneshot_only', 'o'],
      ['kind_not_allowed', 's'],
      ['path_not_allowed', 'f'],
      ['path_not_allowed', 'g'],
    ]);
    expect(errorCode(await t.engine.addNode('f', 'test::file', { path: '../x' }))).toBe(
      'path_not_allowed',
    );
    expect(errorCode(await t.engine.addNode('s', 'test::source'))).toBe('kind_not_allowed');
  });

  it("[E15] connects in a batch see the batch's own adds and allocate family pins in order", async () => {
    const t = setup();
    const r = await t.engine.applyBatch([
      { op: 'add_node', id: 'a', kind: 'test::source', params: { instant: true } },
      { op: 'add_node', id: 'b', kind: 'test::source', params: { instant: true } },
      { op: 'add_node', id: 'm', kind: 'test::mix', params: { instant: true } },
      { op: 'connect', from: { node: 'a' }, to: { node: 'm' } },
      { op: 'connect', from: { node: 'b' }, to: { node: 'm' } },
    ]);
    const results = value(r);
    expect(
      results
        .filter((x) => x.op === 'connect')
        .map((x) => (x as { connection: { to: { pin: string } } }).connection.to.pin),
    ).toEqual(['in_0', 'in_1']);
  });
});

describe('E16 links', () => {
  it('[E16] connecting incompatible pin types is an error', async () => {
    const t = setup();
    await t.engine.addNode('t', 'test::text', { instant: true });
    await t.engine.addNode('p', 'test::proc', { instant: true });
    const r = await t.engine.connect({ node: 't' }, { node: 'p' });
    expect(errorCode(r)).toBe('pin_type_mismatch');
    expect(errorCode(await t.engine.connect({ node: 'p', pin: 'nope' }, { node: 'p' }))).toBe(
      'self_reference',
    );
    await t.engine.addNode('q', 'test::proc', { instant: true });
    expect(errorCode(await t.engine.connect({ node: 'p', pin: 'nope' }, { node: 'q' }))).toBe(
      'unknown_pin',
    );
  });

  it('[E16] dynamic pin families are created on connect; a static input takes one link', async () => {
    const t = setup();
    for (const id of ['a', 'b', 'c']) await t.engine.addNode(id, 'test::source', { instant: true });
    await t.engine.addNode('m', 'test::mix', { instant: true });
    const pins = [];
    for (const id of ['a', 'b']) {
      const r = value(await t.engine.connect({ node: id }, { node: 'm' })) as Extract<
        OpResult,
        { op: 'connect' }
      >;
      pins.push(r.connection.to.pin);
    }
    const explicit = value(
      await t.engine.connect({ node: 'c' }, { node: 'm', pin: 'in_7' }),
    ) as Extract<OpResult, { op: 'connect' }>;
    expect([...pins, explicit.connection.to.pin]).toEqual(['in_0', 'in_1', 'in_7']);
    await t.engine.addNode('p', 'test::proc', { instant: true });
    value(await t.engine.connect({ node: 'a' }, { node: 'p' }));
    expect(errorCode(await t.engine.connect({ node: 'b' }, { node: 'p' }))).toBe('pin_in_use');
  });

  it('[E16] an output fans out to many inputs', async () => {
    const t = setup();
    value(
      await t.engine.applyBatch([
        { op: 'add_node', id: 'src', kind: 'test::source', params: { instant: true, burst: 4 } },
        ...['x', 'y', 'z'].flatMap((id) => [
          { op: 'add_node', id, kind: 'test::sink', params: { instant: true } },
          { op: 'connect', from: { node: 'src' }, to: { node: id } },
        ]),
      ]),
    );
    await settle();
    for (const id of ['x', 'y', 'z'])
      expect(creationOf(t.creations, id).instance.received).toHaveLength(4);
  });

  it('[E16] best_effort links drop when full and count the drops; reliable links apply backpressure', async () => {
    const { registry } = createTestRegistry();
    const open = gate();
    const consumed: Record<string, number> = { lossy: 0, lossless: 0 };
    registry.register(
      defineNode({
        kind: 'test::stalled',
        description: 'reads its input only after a gate opens',
        params: z.object({}),
        pins: () => ({ inputs: [{ name: 'in', type: 'any' }], outputs: [] }),
        create: ({ nodeId }) => ({
          async run(ctx) {
            await open.promise;
            for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
              if (ev.type === 'packet') consumed[nodeId]!++;
            }
          },
        }),
      }),
    );
    const clock = new ManualClock();
    const events: EngineEvent[] = [];
    const e = new Engine({ registry, clock, channelCapacity: 2 });
    e.subscribe((ev) => events.push(ev));
    // One batch, so both links exist before the sources start (E10).
    value(
      await e.applyBatch([
        { op: 'add_node', id: 'src', kind: 'test::source', params: { instant: true, burst: 10 } },
        { op: 'add_node', id: 'lossy', kind: 'test::stalled' },
        { op: 'add_node', id: 'src2', kind: 'test::source', params: { instant: true, burst: 10 } },
        { op: 'add_node', id: 'lossless', kind: 'test::stalled' },
        { op: 'connect', from: { node: 'src' }, to: { node: 'lossy' }, mode: 'best_effort' },
        { op: 'connect', from: { node: 'src2' }, to: { node: 'lossless' }, mode: 'reliable' },
      ]),
    );
    await settle(100);
    await clock.advance(STATS_FLUSH_INTERVAL_MS);
    const stats = (id: string) => e.snapshot().nodes.find((n) => n.id === id)!.stats;
    // best effort: 2 fit in the link, 8 were dropped and counted.
    expect(stats('src').packets_dropped).toBe(8);
    expect(
      events.some(
        (ev) => ev.type === 'node_stats' && ev.node === 'src' && ev.stats.packets_dropped === 8,
      ),
    ).toBe(true);
    // reliable: the sender waits on the full link instead of dropping.
    expect(stats('src2').packets_dropped ?? 0).toBe(0);
    expect(stats('src2').packets_out).toBe(3);
    open.resolve();
    await settle(300);
    expect(consumed).toEqual({ lossy: 2, lossless: 10 });
  });
});

describe('S4/S5 view data stamps', () => {
  const A = '11111111-1111-4111-8111-111111111111';
  const B = '22222222-2222-4222-8222-222222222222';

  function viewDataEngine() {
    const { registry } = createTestRegistry();
    registry.register(
      defineNode({
        kind: 'test::layout',
        description: 'publishes view data on every tune and on every input pin change',
        params: z.object({ x: z.number().default(0) }),
        pins: () => ({ inputs: [{ name: 'in_', type: 'any', family: true }], outputs: [] }),
        create: () => ({
          async run(ctx) {
            ctx.onTune((p) => ctx.viewData({ x: p.x }, 'edit'));
            for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
              if (ev.type === 'pin_added' || ev.type === 'pin_removed')
                ctx.viewData({ pins: ctx.connectedInputs() }, 'layout');
            }
          },
        }),
      }),
    );
    const engine = new Engine({ registry, clock: new ManualClock() });
    const views: Array<Extract<EngineEvent, { type: 'node_view_data' }>> = [];
    engine.subscribe((e) => e.type === 'node_view_data' && views.push(e));
    return { engine, views };
  }

  it('[S4] view data carries the last applied revision of each sender (a version vector)', async () => {
    const { engine, views } = viewDataEngine();
    await engine.addNode('c', 'test::layout');
    await settle();
    await engine.tune('c', { x: 1 }, { sender: A, rev: 1 });
    await engine.tune('c', { x: 2 }, { sender: B, rev: 1 });
    await engine.tune('c', { x: 3 }, { sender: A, rev: 2 });
    // An out-of-order older stamp never moves an entry back.
    await engine.tune('c', { x: 4 }, { sender: A, rev: 1 });
    expect(views.map((v) => v.stamp)).toEqual([
      { vector: { [A]: 1 }, cause: 'edit' },
      { vector: { [A]: 1, [B]: 1 }, cause: 'edit' },
      { vector: { [A]: 2, [B]: 1 }, cause: 'edit' },
      { vector: { [A]: 2, [B]: 1 }, cause: 'edit' },
    ]);
  });

  it('[S4] an edit without a stamp never inherits an old one', async () => {
    const { engine, views } = viewDataEngine();
    await engine.addNode('c', 'test::layout');
    await settle();
    await engine.tune('c', { x: 1 });
    await engine.tune('c', { x: 2 }, { sender: A, rev: 5 });
    await engine.tune('c', { x: 3 });
    expect(views.map((v) => v.stamp.vector)).toEqual([{}, { [A]: 5 }, { [A]: 5 }]);
    expect(views[2]!.data).toEqual({ x: 3 });
  });

  it('[S4] tunes queued while creating are stamped in order when replayed', async () => {
    const { engine } = viewDataEngine();
    await engine.addNode('c', 'test::layout');
    await engine.tune('c', { x: 1 }, { sender: A, rev: 1 });
    await engine.tune('c', { x: 2 }, { sender: A, rev: 2 });
    await settle();
    expect(engine.snapshot().nodes[0]!.vector).toEqual({ [A]: 2 });
  });

  it('[S5] a layout change from an input pin appearing or going is marked so no client drops it', async () => {
    const { engine, views } = viewDataEngine();
    await engine.addNode('src', 'test::source', { instant: true });
    await engine.addNode('c', 'test::layout');
    await settle();
    await engine.tune('c', { x: 1 }, { sender: A, rev: 3 });
    await engine.connect({ node: 'src' }, { node: 'c' });
    await settle();
    await engine.disconnect({ node: 'src', pin: 'out' }, { node: 'c', pin: 'in_0' });
    await settle();
    const layout = views.filter((v) => v.stamp.cause === 'layout');
    expect(layout.map((v) => v.data)).toEqual([{ pins: ['in_0'] }, { pins: [] }]);
  });
});
