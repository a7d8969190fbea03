import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../testing/fake-socket';
import { ControlClient } from './control-client';

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.instances = [];
  vi.stubGlobal('WebSocket', FakeSocket);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

function connected(): { client: ControlClient; socket: FakeSocket } {
  const client = new ControlClient({ url: () => 'ws://test/api/v1/control' });
  const socket = FakeSocket.latest();
  socket.open();
  return { client, socket };
}

describe('control client', () => {
  it('answers each request by its id, checking the result against the request type', async () => {
    const { client, socket } = connected();
    const first = client.request({ type: 'demand', session: 's', node: 'llm' });
    const second = client.request({ type: 'list_sessions' });
    const [a, b] = socket.json();
    socket.receive({
      type: 'response',
      id: b?.id,
      payload: { type: 'ok', result: { sessions: [] } },
    });
    socket.receive({ type: 'response', id: a?.id, payload: { type: 'ok', result: { run: 'r1' } } });
    await expect(second).resolves.toEqual({ ok: true, value: { sessions: [] } });
    await expect(first).resolves.toEqual({ ok: true, value: { run: 'r1' } });
  });

  it('returns the server error with its code; a result of the wrong shape is bad_message', async () => {
    const { client, socket } = connected();
    const r = client.request({ type: 'cancel', session: 's', run: 'x' });
    socket.receive({
      type: 'response',
      id: socket.json()[0]?.id,
      payload: { type: 'error', code: 'not_found', message: 'no run x' },
    });
    await expect(r).resolves.toMatchObject({ ok: false, error: { code: 'not_found' } });
    const bad = client.request({ type: 'demand', session: 's', node: 'n' });
    socket.receive({
      type: 'response',
      id: socket.json()[1]?.id,
      payload: { type: 'ok', result: 5 },
    });
    await expect(bad).resolves.toMatchObject({ ok: false, error: { code: 'bad_message' } });
  });

  it('delivers events and unsolicited errors (a refused edit) to listeners', () => {
    const { client, socket } = connected();
    const events: string[] = [];
    const errors: string[] = [];
    client.onEvent((e) => events.push(e.type));
    client.onError((e) => errors.push(`${e.code} ${e.node}`));
    socket.receive({
      type: 'event',
      payload: { type: 'node_state', session: 's', node: 'n', state: { status: 'creating' } },
    });
    socket.receive({
      type: 'response',
      payload: { type: 'error', code: 'oneshot_only', message: 'undone', node: 'in' },
    });
    socket.receive('not json');
    expect(events).toEqual(['node_state']);
    expect(errors).toEqual(['oneshot_only in']);
  });

  it('fails requests at once while disconnected, and pending ones when the link drops', async () => {
    const client = new ControlClient({ url: () => 'ws://test' });
    await expect(client.request({ type: 'list_sessions' })).resolves.toMatchObject({ ok: false });
    const socket = FakeSocket.latest();
    socket.open();
    const pending = client.request({ type: 'list_sessions' });
    socket.drop();
    await expect(pending).resolves.toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('reconnects after a jittered delay and subscribes again to every watched session', () => {
    const { client, socket } = connected();
    const unwatch = client.watch('s1');
    client.watch('s2');
    expect(socket.json().map((m) => (m.payload as { type: string }).type)).toEqual([
      'subscribe',
      'subscribe',
    ]);
    const statuses: string[] = [];
    client.onStatus((s) => statuses.push(s));
    socket.drop();
    expect(statuses).toEqual(['connecting']);
    vi.advanceTimersByTime(60_000);
    const again = FakeSocket.latest();
    expect(again).not.toBe(socket);
    again.open();
    expect(statuses).toEqual(['connecting', 'connected']);
    const subs = again.json().map((m) => (m.payload as { session: string }).session);
    expect(subs.sort()).toEqual(['s1', 's2']);
    unwatch();
    expect(again.json().at(-1)?.payload).toEqual({ type: 'unsubscribe', session: 's1' });
  });

  it('reads as offline after repeated failures and stops for good on a refused token (44xx)', () => {
    const { client, socket } = connected();
    const errors: string[] = [];
    client.onError((e) => errors.push(e.code));
    socket.drop();
    vi.advanceTimersByTime(60_000);
    FakeSocket.latest().drop();
    expect(client.status).toBe('offline');
    vi.advanceTimersByTime(60_000);
    const count = FakeSocket.instances.length;
    FakeSocket.latest().drop(4401, 'bad token');
    vi.advanceTimersByTime(600_000);
    expect(FakeSocket.instances.length).toBe(count);
    expect(errors).toEqual(['unauthorized']);
  });
});
