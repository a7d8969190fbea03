import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ControlEventSchema, err, problem } from '@patchbay/protocol';
import { settle } from '../testing/manual-clock';
import { defineTaskNode } from './task-api';
import { DEFAULT_CHANNEL_CAPACITY } from '../channel';
import { utf8Encode } from '../nodes/io/oneshot-io';
import { NOT_HANDLED } from './executor';
import type { TaskExecutor } from './executor';
import { FILE_STORE_SERVICE } from './task-services';
import type { FileStore } from './task-services';
import { add, link, taskEngine, until, value } from './testing/task-harness';

/** a → b → c, plus d → b (so b has two inputs). */
function chain() {
  return [
    add('a', 'test::count', { label: 'a' }),
    add('d', 'test::count', { label: 'd' }),
    add('b', 'test::count', { label: 'b' }),
    add('c', 'test::count', { label: 'c' }),
    link('a', 'b'),
    link('d', 'b'),
    link('b', 'c'),
  ];
}

describe('X5 demand runs', () => {
  it('[X5] demand returns a run id at once, then run and node events arrive in order', async () => {
    const t = taskEngine();
    await t.build(chain());
    const r = await t.engine.demand('c');
    const run = value(r).run;
    // The answer comes before any event of the run.
    expect(t.runEvents(run)).toEqual([]);
    const end = await t.waitEnd(run);
    expect(end).toEqual({ type: 'run_completed', run, output: 'c(b(a(),d()))' });
    const seq = t.runEvents(run).map((e) => `${e.type}${'node' in e ? `:${e.node}` : ''}`);
    expect(seq[0]).toBe('run_started:c');
    expect(seq.at(-1)).toBe('run_completed');
    // Each node starts before it completes, and upstream completes before downstream starts.
    for (const [up, down] of [
      ['a', 'b'],
      ['d', 'b'],
      ['b', 'c'],
    ]) {
      expect(seq.indexOf(`node_run_completed:${up}`)).toBeLessThan(
        seq.indexOf(`node_run_started:${down}`),
      );
    }
    for (const n of ['a', 'b', 'c', 'd']) {
      expect(seq.indexOf(`node_run_started:${n}`)).toBeLessThan(
        seq.indexOf(`node_run_completed:${n}`),
      );
    }
  });

  it('[X5] run events map 1:1 onto the protocol events (a session added is all a host does)', async () => {
    const t = taskEngine();
    await t.build(chain());
    const { run } = await t.demandAndWait('c');
    for (const e of t.runEvents(run)) {
      const parsed = ControlEventSchema.safeParse({ ...e, session: 's1' });
      expect(parsed.success, JSON.stringify(e)).toBe(true);
    }
  });

  it('[X5] demanding an unknown node or a streaming node is an error value', async () => {
    const t = taskEngine();
    await t.build([add('sine', 'audio::sine'), add('x', 'test::count')]);
    const unknown = await t.engine.demand('nope');
    expect(unknown.ok ? undefined : unknown.error.code).toBe('unknown_node');
    const media = await t.engine.demand('sine');
    expect(media.ok ? undefined : media.error.code).toBe('bad_request');
    const cancel = await t.engine.cancel('run-99');
    expect(cancel.ok ? undefined : cancel.error.code).toBe('not_found');
  });

  it('[X5] a cycle or a streaming upstream is a node failure naming the node, not a hang', async () => {
    const t = taskEngine();
    await t.build([
      add('a', 'test::count'),
      add('b', 'test::count'),
      add('sine', 'audio::sine'),
      add('c', 'test::count'),
      link('a', 'b'),
      link('b', 'a'),
      link('sine', 'c'),
    ]);
    const loop = await t.demandAndWait('b');
    expect(loop.end).toMatchObject({ type: 'run_failed', code: 'cycle' });
    expect(loop.end.type === 'run_failed' ? loop.end.reason : '').toBe('cycle: b → a → b');
    const media = await t.demandAndWait('c');
    expect(media.end).toMatchObject({ type: 'run_failed', node: 'sine', code: 'bad_request' });
    // The sine keeps streaming (20 ms frames) into the idle task node: the link never fills up.
    await t.clock.advance(2_000);
    await t.clock.advance(300); // a stats flush
    const sent = t.engine.snapshot().nodes.find((n) => n.id === 'sine')?.stats.packets_out ?? 0;
    expect(sent).toBeGreaterThan(DEFAULT_CHANNEL_CAPACITY * 2);
  });

  it('[X5] a task node that fails is a node_run_failed value with its code; the engine carries on', async () => {
    const t = taskEngine();
    t.registry.register(
      defineTaskNode({
        kind: 'test::fail',
        description: 'fails',
        params: z.object({ mode: z.enum(['value', 'throw']).default('value') }),
        pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'text' }] }),
        execute: (_i, ctx) => {
          if (ctx.params.mode === 'throw') throw new Error('boom');
          return err(problem('inference_failed', 'the model broke'));
        },
      }),
    );
    await t.build([
      add('bad', 'test::fail'),
      add('worse', 'test::fail', { mode: 'throw' }),
      add('after', 'test::count'),
      link('bad', 'after'),
    ]);
    const { run, end } = await t.demandAndWait('after');
    expect(end).toMatchObject({
      type: 'run_failed',
      node: 'bad',
      code: 'inference_failed',
      reason: 'the model broke',
    });
    expect(t.runEvents(run)).toContainEqual({
      type: 'node_run_failed',
      run,
      node: 'bad',
      code: 'inference_failed',
      reason: 'the model broke',
    });
    expect(t.executions.get('after')).toBeUndefined();
    const thrown = await t.demandAndWait('worse');
    expect(thrown.end).toMatchObject({ type: 'run_failed', node: 'worse', code: 'internal' });
    // The engine still works.
    const ok2 = await t.demandAndWait('after');
    expect(ok2.end.type).toBe('run_failed'); // upstream still fails, as a value again
    expect(t.engine.state('after')?.status).toBe('running');
  });

  it('[X5] cancel mid-stream reports cancelled at once and stops the generation', async () => {
    const t = taskEngine();
    await t.build([
      add('model', 'llm::model', { path: 'tiny.gguf' }),
      add('prompt', 'text::input', { text: 'tell me' }),
      add('gen', 'llm::inference'),
      link('model', 'gen', 'model'),
      link('prompt', 'gen', 'input'),
    ]);
    const run = value(await t.engine.demand('gen')).run;
    // Wait for the second streamed token, then cancel.
    await until(() => t.nodesWith(run, 'node_stream').length >= 2, t.clock);
    const streamed = t.nodesWith(run, 'node_stream').length;
    value(await t.engine.cancel(run));
    await settle();
    expect(
      t
        .runEvents(run)
        .map((e) => e.type)
        .slice(-2),
    ).toEqual(['node_run_cancelled', 'run_cancelled']);
    // No token after the cancel, even when time goes on; the backend saw its signal.
    await t.clock.advance(1_000);
    expect(t.nodesWith(run, 'node_stream').length).toBe(streamed);
    expect(t.runEvents(run).at(-1)?.type).toBe('run_cancelled');
    expect(t.engine.runsInFlight()).toEqual([]);
    expect(t.backend.running).toBe(0);
  });

  it('[X5] cancel reports at once; engine shutdown waits for work that stops late', async () => {
    const t = taskEngine();
    let settledAt = -1;
    t.registry.register(
      defineTaskNode({
        kind: 'test::stubborn',
        description: 'looks at its signal only after 100 ms',
        params: z.object({}),
        pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'text' }] }),
        execute: (_i, ctx) =>
          new Promise((resolve) =>
            ctx.clock.setTimer(() => {
              settledAt = ctx.clock.now();
              resolve(err(problem('cancelled', 'noticed late')));
            }, 100),
          ),
      }),
    );
    await t.build([add('slow', 'test::stubborn')]);
    const run = value(await t.engine.demand('slow'));
    await until(() => t.nodesWith(run.run, 'node_run_started').length === 1, t.clock);
    const cancelledAt = t.clock.now();
    value(await t.engine.cancel(run.run));
    await settle();
    expect(t.runEvents(run.run).at(-1)).toEqual({ type: 'run_cancelled', run: run.run });
    expect(settledAt).toBe(-1);
    let shutDown = false;
    void t.engine.shutdown().then(() => (shutDown = true));
    await t.clock.advance(50);
    expect(shutDown).toBe(false);
    await t.clock.advance(100);
    expect(shutDown).toBe(true);
    expect(settledAt).toBeGreaterThanOrEqual(cancelledAt + 100 - 1);
  });

  it('[X5] two runs can be in flight at once', async () => {
    const t = taskEngine();
    await t.build([
      add('model', 'llm::model', { path: 'm.gguf', sequences: 2 }),
      add('p1', 'text::input', { text: 'one' }),
      add('p2', 'text::input', { text: 'two' }),
      add('g1', 'llm::inference'),
      add('g2', 'llm::inference'),
      link('model', 'g1', 'model'),
      link('model', 'g2', 'model'),
      link('p1', 'g1', 'input'),
      link('p2', 'g2', 'input'),
    ]);
    const r1 = value(await t.engine.demand('g1')).run;
    const r2 = value(await t.engine.demand('g2')).run;
    expect(r1).not.toBe(r2);
    await until(() => t.engine.runsInFlight().length === 2, t.clock);
    const e1 = await t.waitEnd(r1);
    const e2 = await t.waitEnd(r2);
    expect(e1).toMatchObject({ type: 'run_completed', output: 'once upon a time there was' });
    expect(e2).toMatchObject({ type: 'run_completed', output: 'once upon a time there was' });
    // Both generations ran at the same time on the one model.
    expect(t.backend.maxConcurrent).toBe(2);
    expect(t.backend.log.filter((l) => l.startsWith('load'))).toHaveLength(1);
  });
});

describe('X7 every watcher', () => {
  it('[X7] streamed tokens and run events reach every subscriber, not only the one that asked', async () => {
    const t = taskEngine();
    const second: string[] = [];
    t.engine.subscribe((e) => {
      if (e.type === 'node_stream') second.push(e.chunk);
      else if ('run' in e) second.push(e.type);
    });
    await t.build([
      add('model', 'llm::model', { path: 'tiny.gguf' }),
      add('gen', 'llm::inference', { prompt: 'go' }),
      link('model', 'gen', 'model'),
    ]);
    const { run } = await t.demandAndWait('gen');
    const chunks = t.runEvents(run).flatMap((e) => (e.type === 'node_stream' ? [e.chunk] : []));
    expect(chunks.join('')).toBe('once upon a time there was');
    expect(second.filter((s) => !s.includes('_')).join('')).toBe(chunks.join(''));
    expect(second.at(-1)).toBe('run_completed');
  });
});

describe('X6 caching by input version', () => {
  it('[X6] a re-demand without changes recomputes nothing', async () => {
    const t = taskEngine();
    await t.build(chain());
    await t.demandAndWait('c');
    expect(Object.fromEntries(t.executions)).toEqual({ a: 1, d: 1, b: 1, c: 1 });
    const { run, end } = await t.demandAndWait('c');
    expect(Object.fromEntries(t.executions)).toEqual({ a: 1, d: 1, b: 1, c: 1 });
    expect(end).toMatchObject({ type: 'run_completed', output: 'c(b(a(),d()))' });
    expect(t.nodesWith(run, 'node_run_started')).toEqual([]);
    const cached = t
      .runEvents(run)
      .filter((e) => e.type === 'node_run_completed')
      .map((e) => (e.type === 'node_run_completed' ? e.cached : undefined));
    expect(cached).toEqual([true, true, true, true]);
  });

  it('[X6] after a tune only that node and what is downstream recompute', async () => {
    const t = taskEngine();
    await t.build(chain());
    await t.demandAndWait('c');
    value(await t.engine.tune('b', { label: 'B' }));
    const { end } = await t.demandAndWait('c');
    expect(end).toMatchObject({ output: 'c(B(a(),d()))' });
    expect(Object.fromEntries(t.executions)).toEqual({ a: 1, d: 1, b: 2, c: 2 });
    value(await t.engine.tune('a', { label: 'A' }));
    await t.demandAndWait('c');
    expect(Object.fromEntries(t.executions)).toEqual({ a: 2, d: 1, b: 3, c: 3 });
  });

  it('[X6] going back to earlier params is answered from the cache', async () => {
    const t = taskEngine();
    await t.build(chain());
    await t.demandAndWait('c');
    value(await t.engine.tune('b', { label: 'B' }));
    await t.demandAndWait('c');
    value(await t.engine.tune('b', { label: 'b' }));
    const { run, end } = await t.demandAndWait('c');
    expect(end).toMatchObject({ output: 'c(b(a(),d()))' });
    expect(t.nodesWith(run, 'node_run_started')).toEqual([]);
    expect(Object.fromEntries(t.executions)).toEqual({ a: 1, d: 1, b: 2, c: 2 });
  });

  it('[X6] a connection change invalidates the node it feeds and downstream', async () => {
    const t = taskEngine();
    await t.build(chain());
    await t.demandAndWait('c');
    value(await t.engine.disconnect({ node: 'd', pin: 'out' }, { node: 'b', pin: 'in_1' }));
    const { end } = await t.demandAndWait('c');
    expect(end).toMatchObject({ output: 'c(b(a()))' });
    expect(Object.fromEntries(t.executions)).toEqual({ a: 1, d: 1, b: 2, c: 2 });
  });

  it('[X6] a node that always runs (file::read) only invalidates downstream when its output changed', async () => {
    const files = new Map<string, string>([['notes.txt', 'v1']]);
    const store: FileStore = {
      resolve: async (p) => ({ ok: true, value: `/data/${p}` }),
      read: async (p) => ({ ok: true, value: utf8Encode(files.get(p) ?? '') }),
      write: async () => ({ ok: true, value: undefined }),
    };
    const t = taskEngine({ services: { [FILE_STORE_SERVICE]: store } });
    await t.build([
      add('file', 'file::read', { path: 'notes.txt' }),
      add('use', 'test::count'),
      link('file', 'use'),
    ]);
    await t.demandAndWait('use');
    const again = await t.demandAndWait('use');
    expect(t.nodesWith(again.run, 'node_run_started')).toEqual(['file']);
    expect(t.executions.get('use')).toBe(1);
    files.set('notes.txt', 'v2');
    const changed = await t.demandAndWait('use');
    expect(changed.end).toMatchObject({ output: 'x(v2)' });
    expect(t.executions.get('use')).toBe(2);
  });
});

describe('X2 composite executor', () => {
  it('[X2] a host executor overrides a kind and says {handled: false} for the rest', async () => {
    const seen: string[] = [];
    const host: TaskExecutor = {
      execute: (req) => {
        seen.push(req.kind);
        if (req.kind !== 'text::input') return NOT_HANDLED;
        return { handled: true, result: { ok: true, value: { out: 'from the host' } } };
      },
    };
    const t = taskEngine({ taskExecutors: [host] });
    await t.build([
      add('in', 'text::input', { text: 'typed' }),
      add('out', 'text::output'),
      link('in', 'out'),
    ]);
    const { end } = await t.demandAndWait('out');
    expect(end).toMatchObject({ type: 'run_completed', output: 'from the host' });
    expect(seen).toEqual(['text::input', 'text::output']);
  });

  it('[X2] a host adds a kind; a kind nobody executes is a typed node failure', async () => {
    const t = taskEngine({
      taskExecutors: [
        {
          execute: (req) =>
            req.kind === 'host::approve'
              ? {
                  handled: true,
                  result: { ok: true, value: { out: `approved ${String(req.inputs.in)}` } },
                }
              : { handled: false },
        },
      ],
    });
    const declare = (kind: string) =>
      t.registry.register(
        defineTaskNode({
          kind,
          description: 'run by the host',
          params: z.object({}),
          pins: () => ({
            inputs: [{ name: 'in', type: 'any' }],
            outputs: [{ name: 'out', type: 'text' }],
          }),
        }),
      );
    declare('host::approve');
    declare('host::nobody');
    await t.build([
      add('in', 'text::input', { text: 'plan' }),
      add('ok', 'host::approve'),
      add('no', 'host::nobody'),
      link('in', 'ok'),
      link('in', 'no'),
    ]);
    expect((await t.demandAndWait('ok')).end).toMatchObject({ output: 'approved plan' });
    expect((await t.demandAndWait('no')).end).toMatchObject({
      type: 'run_failed',
      node: 'no',
      code: 'unknown_kind',
    });
  });
});

describe('X3 human::input', () => {
  it('[X3] human::input pauses the run until answered through the engine', async () => {
    const t = taskEngine();
    await t.build([
      add('q', 'text::input', { text: 'Deploy v2?' }),
      add('ask', 'human::input', { prompt: 'Please decide' }),
      add('out', 'text::output'),
      link('q', 'ask'),
      link('ask', 'out'),
    ]);
    const run = value(await t.engine.demand('out')).run;
    await until(() => t.nodesWith(run, 'node_run_waiting').length === 1, t.clock);
    const waiting = t.runEvents(run).find((e) => e.type === 'node_run_waiting');
    expect(waiting).toMatchObject({ node: 'ask', prompt: 'Please decide\n\nDeploy v2?' });
    await t.clock.advance(10_000);
    expect(t.engine.runsInFlight()).toEqual([run]);
    const wrong = await t.engine.answer(run, 'q', 'yes');
    expect(wrong.ok ? undefined : wrong.error.code).toBe('not_found');
    value(await t.engine.answer(run, 'ask', 'yes'));
    expect(await t.waitEnd(run)).toMatchObject({ type: 'run_completed', output: 'yes' });
  });

  it('[X3] cancelling a run that waits for an answer ends it', async () => {
    const t = taskEngine();
    await t.build([add('ask', 'human::input', { prompt: 'Name?' })]);
    const run = value(await t.engine.demand('ask')).run;
    await until(() => t.nodesWith(run, 'node_run_waiting').length === 1, t.clock);
    value(await t.engine.cancel(run));
    expect(await t.waitEnd(run)).toEqual({ type: 'run_cancelled', run });
  });
});
