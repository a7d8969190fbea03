import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../testing/fake-socket';
import { writeParams } from './edits';
import { SessionConnection } from './session-connection';
import { addNode } from '@patchbay/document';

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.instances = [];
});
afterEach(() => vi.useRealTimers());

function open(): SessionConnection {
  return new SessionConnection({
    sessionId: 'demo',
    yjsUrl: 'ws://test/yjs?token=t0k',
    WebSocketPolyfill: FakeSocket as unknown as typeof WebSocket,
  });
}

describe('session connection', () => {
  it('opens /yjs/<session> with the token as a query parameter', () => {
    const conn = open();
    expect(FakeSocket.latest().url).toBe('ws://test/yjs/demo?token=t0k');
    conn.destroy();
  });

  it('[S1] every reconnect takes a new nonce and restarts revisions', () => {
    const conn = open();
    FakeSocket.latest().open();
    expect(conn.status).toBe('connected');
    const first = conn.stamper.nonce;
    addNode(conn.doc, 'mix', { kind: 'video::compositor', params: {} }, { origin: conn.origin });
    writeParams(conn, 'mix', [[['width'], 640]]);
    expect(conn.stamper.localRevision('mix')).toBe(1);

    FakeSocket.latest().drop();
    expect(conn.status).toBe('connecting');
    vi.advanceTimersByTime(10_000);
    FakeSocket.latest().open();
    expect(conn.status).toBe('connected');
    expect(conn.stamper.nonce).not.toBe(first);
    expect(conn.stamper.localRevision('mix')).toBe(0);
    conn.destroy();
  });

  it('reads as offline after repeated failures, and for good when the token is refused', () => {
    const conn = open();
    FakeSocket.latest().drop();
    vi.advanceTimersByTime(10_000);
    FakeSocket.latest().drop();
    expect(conn.status).toBe('offline');
    vi.advanceTimersByTime(10_000);
    FakeSocket.latest().drop(4401, 'unknown token');
    expect(conn.refused).toMatch(/unauthorized: unknown token/);
    const count = FakeSocket.instances.length;
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances.length).toBe(count);
    conn.destroy();
  });

  it("undo reverts this tab's edit only", () => {
    const conn = open();
    addNode(conn.doc, 'g', { kind: 'audio::gain', params: {} }, { origin: 'server' });
    conn.beginGesture();
    writeParams(conn, 'g', [[['gain'], 2]]);
    expect(conn.undo.undoStack).toHaveLength(1);
    conn.undo.undo();
    expect(conn.doc.getMap('nodes').has('g')).toBe(true);
    conn.destroy();
  });
});

describe('permanent refusals', () => {
  it('a missing session (4404) and a refused token read as such', async () => {
    const { refusalMessage } = await import('./session-connection');
    expect(refusalMessage(4404, '')).toMatch(/^not_found/);
    expect(refusalMessage(4401, 'unknown token')).toBe('unauthorized: unknown token');
    expect(refusalMessage(4403, '')).toMatch(/^forbidden/);
  });
});
