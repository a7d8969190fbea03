import { addNode, readPipeline } from '@patchbay/document';
import { beforeEach, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { FakeSocket } from '../testing/fake-socket';
import { adoptingWebSocket } from './early-socket';
import type { EarlySocketRecord } from './early-socket';
import { SessionConnection } from './session-connection';

const MESSAGE_SYNC = 0;

beforeEach(() => {
  FakeSocket.instances = [];
});

/** The server's side of a sync: its step 1 (state vector) and step 2 (the whole document). */
function serverMessages(doc: Y.Doc): Uint8Array[] {
  const step1 = encoding.createEncoder();
  encoding.writeVarUint(step1, MESSAGE_SYNC);
  syncProtocol.writeSyncStep1(step1, doc);
  const step2 = encoding.createEncoder();
  encoding.writeVarUint(step2, MESSAGE_SYNC);
  syncProtocol.writeSyncStep2(step2, doc);
  return [encoding.toUint8Array(step1), encoding.toUint8Array(step2)];
}

function earlySocket(url: string, state: 'connecting' | 'open'): EarlySocketRecord {
  const ws = new FakeSocket(url);
  if (state === 'open') ws.readyState = 1;
  return { url, ws: ws as unknown as WebSocket, received: [] };
}

function connect(early: EarlySocketRecord): SessionConnection {
  return new SessionConnection({
    sessionId: 'demo',
    yjsUrl: 'ws://test/yjs',
    WebSocketPolyfill: adoptingWebSocket(early, FakeSocket as unknown as typeof WebSocket),
  });
}

const microtasks = () => new Promise<void>((res) => queueMicrotask(res));

describe('early document socket', () => {
  it('hands what arrived before the studio loaded to the provider, in order, and syncs without a second socket', async () => {
    const server = new Y.Doc();
    addNode(server, 'tone', { kind: 'audio::sine', params: { frequency: 440 } });
    const early = earlySocket('ws://test/yjs/demo', 'open');
    early.received.push(...serverMessages(server).map((m) => m.slice().buffer));

    const conn = connect(early);
    await microtasks();

    expect(FakeSocket.instances).toHaveLength(1);
    expect(conn.synced).toBe(true);
    expect(conn.status).toBe('connected');
    expect(readPipeline(conn.doc).nodes.tone?.kind).toBe('audio::sine');
    // This tab's edits go out on the same socket.
    const before = (early.ws as unknown as FakeSocket).sent.length;
    addNode(conn.doc, 'gain', { kind: 'audio::gain', params: {} });
    expect((early.ws as unknown as FakeSocket).sent.length).toBeGreaterThan(before);
    // The provider answered the server's step 1 (its step 2) and sent its own step 1 on open.
    const sent = (early.ws as unknown as FakeSocket).sent as Uint8Array[];
    expect(sent.map((m) => [m[0], m[1]])).toEqual(
      expect.arrayContaining([
        [MESSAGE_SYNC, syncProtocol.messageYjsSyncStep2],
        [MESSAGE_SYNC, syncProtocol.messageYjsSyncStep1],
      ]),
    );
    conn.destroy();
  });

  it('a socket still connecting opens for the provider, which asks for the document itself', async () => {
    const early = earlySocket('ws://test/yjs/demo', 'connecting');
    const conn = connect(early);
    await microtasks();
    expect(conn.status).toBe('connecting');

    const ws = early.ws as unknown as FakeSocket;
    ws.open();
    expect(conn.status).toBe('connected');
    const first = ws.sent[0] as Uint8Array;
    expect([first[0], first[1]]).toEqual([MESSAGE_SYNC, syncProtocol.messageYjsSyncStep1]);
    expect(FakeSocket.instances).toHaveLength(1);
    conn.destroy();
  });

  it('an early socket to another session, or one already closed, is closed and a new one is opened', () => {
    for (const early of [
      earlySocket('ws://test/yjs/other', 'open'),
      { ...earlySocket('ws://test/yjs/demo', 'open'), closed: true },
    ]) {
      FakeSocket.instances = [];
      const ws = early.ws as unknown as FakeSocket;
      if ('closed' in early) ws.readyState = 3;
      const conn = connect(early);
      expect(ws.readyState).toBe(3);
      // The one socket made since: a new one, not the early one.
      expect(FakeSocket.instances).toHaveLength(1);
      expect(FakeSocket.latest()).not.toBe(ws);
      expect(FakeSocket.latest().url).toBe('ws://test/yjs/demo');
      conn.destroy();
    }
  });
});
