import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ControlEventSchema, err, problem } from '@patchbay/protocol';
import { settle } from '../testing/manual-clock';
import { defineTaskNode } from './task-api';
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
