import { NODE_STATUSES } from '@patchbay/protocol';
import type { ControlEvent, NodeState } from '@patchbay/protocol';
import { describe, expect, it } from 'vitest';
import { EMPTY_RUNTIME, STAT_HISTORY, applyEvent, withStates } from './runtime-state';
import type { RuntimeState } from './runtime-state';

const S = 's1';
const fold = (events: ControlEvent[], gate?: (n: string) => boolean): RuntimeState =>
  events.reduce((s, e) => applyEvent(s, e, S, gate), EMPTY_RUNTIME);

const stateOf = (status: (typeof NODE_STATUSES)[number]): NodeState => {
  switch (status) {
    case 'recovering':
    case 'degraded':
    case 'failed':
      return { status, reason: 'why' };
    case 'stopped':
      return { status, reason: 'completed' };
    default:
      return { status };
  }
};

describe('runtime state from control events', () => {
  it('[E1] keeps every lifecycle state, creating included, with its reason', () => {
    for (const status of NODE_STATUSES) {
      const s = fold([{ type: 'node_state', session: S, node: 'n', state: stateOf(status) }]);
      expect(s.states.n?.status).toBe(status);
    }
    const failed = fold([
      { type: 'node_state', session: S, node: 'n', state: { status: 'failed', reason: 'boom' } },
    ]);
    expect(failed.nodeErrors.n).toBe('boom');
  });

  it('ignores events of other sessions', () => {
    const s = fold([
      { type: 'node_state', session: 'other', node: 'n', state: { status: 'running' } },
    ]);
    expect(s).toBe(EMPTY_RUNTIME);
  });

  it('keeps a bounded history per stat for sparklines', () => {
    const events: ControlEvent[] = [];
    for (let i = 0; i < STAT_HISTORY + 10; i++)
      events.push({ type: 'node_stats', session: S, node: 'n', stats: { packets: i } });
    const h = fold(events).stats.n?.packets ?? [];
    expect(h).toHaveLength(STAT_HISTORY);
    expect(h[h.length - 1]).toBe(STAT_HISTORY + 9);
  });

  it('a removed node leaves no state, stats or view data behind', () => {
    const s = fold([
      { type: 'node_state', session: S, node: 'n', state: { status: 'running' } },
      { type: 'node_stats', session: S, node: 'n', stats: { a: 1 } },
      { type: 'node_removed', session: S, node: 'n' },
    ]);
    expect(s.states.n).toBeUndefined();
    expect(s.stats.n).toBeUndefined();
  });

  it('[X5] follows a demand run: progress, streamed tokens, completion', () => {
    const s = fold([
      { type: 'run_started', session: S, run: 'r1', node: 'llm' },
      { type: 'node_run_started', session: S, run: 'r1', node: 'model' },
      {
        type: 'node_run_progress',
        session: S,
        run: 'r1',
        node: 'model',
        fraction: 0.5,
        label: 'loading',
      },
      { type: 'node_run_completed', session: S, run: 'r1', node: 'model', cached: true },
      { type: 'node_run_started', session: S, run: 'r1', node: 'llm' },
      { type: 'node_stream', session: S, run: 'r1', node: 'llm', chunk: 'Hel' },
      { type: 'node_stream', session: S, run: 'r1', node: 'llm', chunk: 'lo' },
      { type: 'run_completed', session: S, run: 'r1', output: 'Hello' },
    ]);
    expect(s.latestRun.llm).toBe('r1');
    expect(s.runs.r1?.status).toBe('completed');
    expect(s.runs.r1?.nodes.model).toEqual({ status: 'completed', cached: true });
    expect(s.streams.llm).toEqual({ run: 'r1', text: 'Hello' });
  });

  it('[X5] a new run of a node starts its stream afresh; a failure shows on the node', () => {
    const s = fold([
      { type: 'run_started', session: S, run: 'r1', node: 'llm' },
      { type: 'node_stream', session: S, run: 'r1', node: 'llm', chunk: 'old' },
      { type: 'run_started', session: S, run: 'r2', node: 'llm' },
      { type: 'node_run_started', session: S, run: 'r2', node: 'llm' },
      { type: 'node_stream', session: S, run: 'r2', node: 'llm', chunk: 'new' },
      { type: 'node_run_failed', session: S, run: 'r2', node: 'llm', reason: 'model missing' },
      { type: 'run_failed', session: S, run: 'r2', reason: 'model missing', node: 'llm' },
    ]);
    expect(s.streams.llm?.text).toBe('new');
    expect(s.runs.r2?.status).toBe('failed');
    expect(s.nodeErrors.llm).toBe('model missing');
  });

  it('[S6] view data the gate refuses is not applied', () => {
    const e: ControlEvent = {
      type: 'node_view_data',
      session: S,
      node: 'mix',
      data: { layers: [] },
      stamp: { vector: {}, cause: 'edit' },
    };
    expect(fold([e], () => false).viewData.mix).toBeUndefined();
    expect(fold([e], () => true).viewData.mix?.data).toEqual({ layers: [] });
  });

  it('subscribe states seed the picture without overwriting newer events', () => {
    const s = fold([{ type: 'node_state', session: S, node: 'a', state: { status: 'running' } }]);
    const seeded = withStates(s, { a: { status: 'creating' }, b: { status: 'ready' } });
    expect(seeded.states.a?.status).toBe('running');
    expect(seeded.states.b?.status).toBe('ready');
  });
});
