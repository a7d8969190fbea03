import { describe, expect, it } from 'vitest';
import { silentLogger } from '@patchbay/engine';
import type { Problem, Result } from '@patchbay/protocol';
import { Role } from '../host/server-context';
import type { SessionManager, SessionNotice } from '../sessions/session-manager';
import {
  CONTROL_CLOSE_BUFFERED_BYTES,
  CONTROL_MAX_BUFFERED_BYTES,
  ControlHub,
} from './control-hub';

/** Just enough of a SessionManager to route notices. */
function fakeSessions() {
  let listener: ((n: SessionNotice) => void) | undefined;
  const sessions = {
    subscribe(l: (n: SessionNotice) => void) {
      listener = l;
      return () => (listener = undefined);
    },
    async get(): Promise<Result<unknown, Problem>> {
      return { ok: true, value: { engine: { snapshot: () => ({ nodes: [] }) } } };
    },
  } as unknown as SessionManager;
  return { sessions, emit: (n: SessionNotice) => listener?.(n) };
}

const ME = { userId: 'u', name: 'u', role: Role.editor, color: '#000' };

function socket(buffered: number) {
  const sent: string[] = [];
  const closed: number[] = [];
  return {
    sent,
    closed,
    buffered,
    socket: {
      send: (t: string) => sent.push(t),
      bufferedAmount: () => buffered,
      close: (c: number) => closed.push(c),
    },
  };
}

async function subscribed(hub: ControlHub, s: ReturnType<typeof socket>) {
  const handle = hub.connect(ME, s.socket);
  handle.receive(
    JSON.stringify({ type: 'request', id: 1, payload: { type: 'subscribe', session: 's1' } }),
  );
  await new Promise((r) => setTimeout(r, 0));
  return handle;
}

const state = (node: string): SessionNotice => ({
  kind: 'event',
  session: 's1',
  event: { type: 'node_state', session: 's1', node, state: { status: 'running' } },
});
const stats = (node: string): SessionNotice => ({
  kind: 'event',
  session: 's1',
  event: { type: 'node_stats', session: 's1', node, stats: { packets_in: 1 } },
});

describe('ControlHub backpressure', () => {
  it('[E12] a lagging client still gets every state event; stats are dropped while it lags', async () => {
    const { sessions, emit } = fakeSessions();
    const hub = new ControlHub({ sessions, log: silentLogger });
    const s = socket(CONTROL_MAX_BUFFERED_BYTES + 1);
    await subscribed(hub, s);
    const before = s.sent.length;
    emit(state('a'));
    emit(stats('a'));
    emit(state('b'));
    const types = s.sent
      .slice(before)
      .map((t) => (JSON.parse(t) as { payload: { type: string } }).payload.type);
    expect(types).toEqual(['node_state', 'node_state']);
  });

  it('a client that stopped reading is closed rather than buffered for ever', async () => {
    const { sessions, emit } = fakeSessions();
    const hub = new ControlHub({ sessions, log: silentLogger });
    const s = socket(CONTROL_CLOSE_BUFFERED_BYTES + 1);
    await subscribed(hub, s);
    emit(state('a'));
    expect(s.closed).toEqual([1008]);
    expect(hub.connectionCount).toBe(0);
  });
});
