import { isDeepStrictEqual } from 'node:util';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { ErrorCode, err, problem } from '@patchbay/protocol';
import type { Problem } from '@patchbay/protocol';
import type { Identity } from '../host/server-context';
import type { Storage } from '../storage/storage';
import { isClientOrigin, MAX_AWARENESS_CLIENTS_PER_CONNECTION, YjsMetric } from './room';
import type { ClientOrigin } from './room';
import {
  connectProvider,
  openRawSocket,
  startTestServer,
  synced,
  TEST_IDENTITIES,
  waitFor,
} from './testing/test-server';
import type { RawSocket, TestServer, TestServerOptions } from './testing/test-server';

const SESSION = 'studio-1';

describe('Yjs room server with the stock y-websocket client', () => {
  const servers: TestServer[] = [];
  const providers: WebsocketProvider[] = [];
  const sockets: RawSocket[] = [];

  async function server(options: TestServerOptions = {}): Promise<TestServer> {
    const s = await startTestServer({ sessions: [SESSION], ...options });
    servers.push(s);
    return s;
  }
  function provider(s: TestServer, token: string, session = SESSION, doc?: Y.Doc) {
    const p = connectProvider(s.url, session, token, doc);
    providers.push(p);
    return p;
  }
  function raw(s: TestServer, token: string, session = SESSION, opts = {}) {
    const r = openRawSocket(s.url, session, token, opts);
    sockets.push(r);
    return r;
  }
  /** A raw admin socket, greeted, that applies every update frame it gets and counts them. */
  async function watchUpdates(s: TestServer): Promise<{ doc: Y.Doc; frames: () => number }> {
    const watcher = raw(s, 'admin');
    await watcher.opened;
    await waitFor(() => watcher.received.length > 0, 'the greeting');
    const doc = new Y.Doc();
    let frames = 0;
    watcher.ws.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data));
      if (decoding.readVarUint(decoder) !== 0 || decoding.readVarUint(decoder) !== 2) return;
      frames++;
      Y.applyUpdate(doc, decoding.readVarUint8Array(decoder));
    });
    return { doc, frames: () => frames };
  }
  afterEach(async () => {
    for (const p of providers.splice(0)) p.destroy();
    for (const r of sockets.splice(0)) r.ws.terminate();
    for (const s of servers.splice(0)) await s.close();
  });

  /** The node's params, read-only: undefined until the node exists. */
  function read(doc: Y.Doc, key: string): unknown {
    return (doc.getMap('nodes').get('mix') as Y.Map<unknown> | undefined)?.get(key);
  }
  /** Waits until the server's live document satisfies `check`. */
  async function serverHas(s: TestServer, check: (doc: Y.Doc) => boolean, what: string) {
    const ref = await s.rooms.acquire(SESSION);
    if (!ref.ok) throw new Error(ref.error.message);
    try {
      await waitFor(() => check(ref.value.doc), what);
      await ref.value.flushed();
    } finally {
      ref.value.release();
    }
  }

  /** The node's params for editing (created when missing). */
  function params(doc: Y.Doc): Y.Map<unknown> {
    const nodes = doc.getMap<Y.Map<unknown>>('nodes');
    let p = nodes.get('mix');
    if (!p) {
      p = new Y.Map<unknown>();
      nodes.set('mix', p);
    }
    return p;
  }

  it('two providers converge on concurrent edits to different keys of one nested map', async () => {
    const s = await server();
    const a = provider(s, 'alice');
    const b = provider(s, 'bob');
    await Promise.all([synced(a), synced(b)]);
    // The nested map exists on both before the concurrent edits.
    params(a.doc).set('width', 1280);
    await waitFor(() => b.doc.getMap('nodes').has('mix'), 'b to see the node');
    // Concurrent: neither has seen the other's edit when it makes its own.
    params(a.doc).set('gain', 0.5);
    params(b.doc).set('opacity', 0.9);
    const expected = { mix: { width: 1280, gain: 0.5, opacity: 0.9 } };
    await waitFor(
      () =>
        isDeepStrictEqual(a.doc.getMap('nodes').toJSON(), expected) &&
        isDeepStrictEqual(b.doc.getMap('nodes').toJSON(), expected),
      'both edits on both clients',
    );
    await s.rooms.flushAll();
    const stored = await s.storage.loadUpdates(SESSION);
    expect(stored.ok).toBe(true);
    if (!stored.ok) return;
    const replayed = new Y.Doc();
    for (const u of stored.value.updates) Y.applyUpdate(replayed, u);
    expect(replayed.getMap('nodes').toJSON()).toEqual(expected);
  });

  it('a late joiner gets the full state', async () => {
    const s = await server();
    const a = provider(s, 'alice');
    await synced(a);
    for (let i = 0; i < 50; i++) params(a.doc).set(`p${i}`, i);
    a.doc.getMap('meta').set('name', 'Late joiner test');
    const late = provider(s, 'bob');
    await synced(late);
    await waitFor(() => late.doc.getMap('meta').get('name') === 'Late joiner test', 'meta');
    expect(late.doc.getMap('nodes').toJSON()).toEqual(a.doc.getMap('nodes').toJSON());
  });

  it('a restarted server (a new RoomManager on the same file) restores the document', async () => {
    const first = await server({ unloadDelayMs: 60_000 });
    const a = provider(first, 'alice');
    await synced(a);
    for (let i = 0; i < 30; i++) params(a.doc).set(`p${i % 5}`, i);
    await first.storage.compact(SESSION);
    params(a.doc).set('after_compaction', true);
    await serverHas(first, (d) => read(d, 'after_compaction') === true, 'the last edit');
    const before = a.doc.getMap('nodes').toJSON();
    a.destroy();
    const dataDir = first.dataDir;
    await first.rooms.close();
    await first.storage.close();

    const second = await server({ dataDir });
    const fresh = provider(second, 'bob');
    await synced(fresh);
    expect(fresh.doc.getMap('nodes').toJSON()).toEqual(before);
    expect(before).toMatchObject({ mix: { p4: 29, after_compaction: true } });
  });

  it('a viewer’s writes never reach the document or others; it is told once and keeps reading', async () => {
    const s = await server();
    const editor = provider(s, 'alice');
    const viewer = provider(s, 'victor');
    const denied: string[] = [];
    // The stock client only logs a permission-denied message; record it instead.
    viewer.messageHandlers[2] = (_enc, decoder) => {
      decoding.readVarUint(decoder);
      denied.push(decoding.readVarString(decoder));
    };
    await Promise.all([synced(editor), synced(viewer)]);
    params(editor.doc).set('width', 640);
    await waitFor(() => read(viewer.doc, 'width') === 640, 'viewer to read the edit');
    expect(denied).toEqual([]);

    params(viewer.doc).set('width', 1);
    viewer.doc.getMap('meta').set('hijack', true);
    await waitFor(() => denied.length > 0, 'permission denied');
    // The connection stays open: later edits still arrive.
    params(editor.doc).set('height', 360);
    await waitFor(() => read(viewer.doc, 'height') === 360, 'viewer to keep reading');
    await s.rooms.flushAll();
    expect(denied).toEqual(['read-only: viewers cannot edit this session']);
    expect(read(editor.doc, 'width')).toBe(640);
    expect(editor.doc.getMap('meta').has('hijack')).toBe(false);
    const ref = await s.rooms.acquire(SESSION);
    expect(ref.ok).toBe(true);
    if (!ref.ok) return;
    expect(ref.value.doc.getMap('meta').has('hijack')).toBe(false);
    expect(ref.value.doc.getMap('nodes').toJSON()).toEqual({ mix: { width: 640, height: 360 } });
    ref.value.release();
  });

  it('awareness identity is stamped by the server: a claimed name or id is overwritten', async () => {
    const s = await server();
    const a = provider(s, 'alice');
    const b = provider(s, 'bob');
    await Promise.all([synced(a), synced(b)]);
    a.awareness.setLocalStateField('user', { id: 'u-bob', name: 'Bob', role: 'admin' });
    a.awareness.setLocalStateField('cursor', { x: 3, y: 4 });
    await waitFor(() => {
      const st = b.awareness.getStates().get(a.doc.clientID) as { cursor?: unknown } | undefined;
      return st?.cursor !== undefined;
    }, 'a’s presence at b');
    expect(b.awareness.getStates().get(a.doc.clientID)).toEqual({
      user: { id: 'u-alice', name: 'Alice', color: '#e11d48', role: 'editor' },
      cursor: { x: 3, y: 4 },
    });
  });

  it('a connection cannot set or remove another connection’s awareness entry', async () => {
    const s = await server();
    const b = provider(s, 'bob');
    const watcher = provider(s, 'admin');
    await Promise.all([synced(b), synced(watcher)]);
    b.awareness.setLocalStateField('cursor', 1);
    await waitFor(() => watcher.awareness.getStates().has(b.doc.clientID), 'b at watcher');

    const attacker = raw(s, 'alice');
    await attacker.opened;
    const spoof = (clock: number, state: unknown) => {
      const inner = encoding.createEncoder();
      encoding.writeVarUint(inner, 1);
      encoding.writeVarUint(inner, b.doc.clientID);
      encoding.writeVarUint(inner, clock);
      encoding.writeVarString(inner, JSON.stringify(state));
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
      attacker.ws.send(encoding.toUint8Array(e));
    };
    spoof(1_000_000, { user: { name: 'Bob' }, cursor: 'evil' });
    spoof(2_000_000, null);
    // A marker after the spoofs: once the watcher sees the attacker's own entry, the spoofs
    // (sent earlier on the same socket) have been handled.
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, 1);
    encoding.writeVarUint(inner, 4242);
    encoding.writeVarUint(inner, 1);
    encoding.writeVarString(inner, JSON.stringify({ marker: true }));
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
    attacker.ws.send(encoding.toUint8Array(e));
    await waitFor(() => watcher.awareness.getStates().has(4242), 'the attacker’s own entry');

    expect(watcher.awareness.getStates().get(b.doc.clientID)).toEqual({
      user: { id: 'u-bob', name: 'Bob', color: '#2563eb', role: 'editor' },
      cursor: 1,
    });
    expect(watcher.awareness.getStates().get(4242)).toEqual({
      marker: true,
      user: { id: 'u-alice', name: 'Alice', color: '#e11d48', role: 'editor' },
    });
    expect(s.metrics.counters.get(`${YjsMetric.rejectedFrames}{reason=awareness}`)).toBe(2);
  });

  it('a connection may introduce at most MAX_AWARENESS_CLIENTS_PER_CONNECTION awareness entries', async () => {
    const s = await server();
    const watcher = provider(s, 'bob');
    await synced(watcher);
    const r = raw(s, 'alice');
    await r.opened;
    const ids = Array.from(
      { length: MAX_AWARENESS_CLIENTS_PER_CONNECTION + 3 },
      (_, i) => 9000 + i,
    );
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, ids.length);
    for (const id of ids) {
      encoding.writeVarUint(inner, id);
      encoding.writeVarUint(inner, 1);
      encoding.writeVarString(inner, JSON.stringify({ tab: id }));
    }
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
    r.ws.send(encoding.toUint8Array(e));
    await waitFor(() => watcher.awareness.getStates().has(9000), 'the first entries');
    const shown = ids.filter((id) => watcher.awareness.getStates().has(id));
    expect(shown).toEqual(ids.slice(0, MAX_AWARENESS_CLIENTS_PER_CONNECTION));
  });

  it('awareness is coalesced: renewals are paced over several messages (AWARENESS_RENEWAL_PACE_MS), a change goes at once without them, a burst of changes (AWARENESS_CHANGE_INTERVAL_MS) ends on its last state', async () => {
    const s = await server({ awarenessRenewalMaxDelayMs: 1000 });
    const a = raw(s, 'alice');
    const b = raw(s, 'bob');
    const watcher = raw(s, 'admin');
    await Promise.all([a.opened, b.opened, watcher.opened]);
    const send = (socket: RawSocket, clientID: number, clock: number, state: unknown) => {
      const inner = encoding.createEncoder();
      encoding.writeVarUint(inner, 1);
      encoding.writeVarUint(inner, clientID);
      encoding.writeVarUint(inner, clock);
      encoding.writeVarString(inner, JSON.stringify(state));
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
      socket.ws.send(encoding.toUint8Array(e));
    };
    /** The watcher's awareness messages as lists of `clientID@clock`. */
    const relayed = () =>
      watcher.received
        .filter((m) => m[0] === 1)
        .map((m) => {
          const d = decoding.createDecoder(
            decoding.readVarUint8Array(decoding.createDecoder(m.subarray(1))),
          );
          const n = decoding.readVarUint(d);
          const entries: string[] = [];
          for (let i = 0; i < n; i++) {
            const id = decoding.readVarUint(d);
            const clock = decoding.readVarUint(d);
            decoding.readVarString(d);
            entries.push(`${id}@${clock}`);
          }
          return entries;
        })
        .filter((entries) => entries.length > 0);
    const seen = (entry: string) => relayed().some((m) => m.includes(entry));
    /** Resolves once the server has handled everything `socket` sent so far: a socket's
     *  messages are handled in order, so the reply to a sync step 1 comes after them. */
    const handled = async (socket: RawSocket) => {
      const count = socket.received.length;
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 0);
      syncProtocol.writeSyncStep1(e, new Y.Doc());
      socket.ws.send(encoding.toUint8Array(e));
      await waitFor(
        () => socket.received.slice(count).some((m) => m[0] === 0 && m[1] === 1),
        'the sync step 2 reply',
      );
    };

    // Sixteen entries, eight per connection (each may introduce MAX_AWARENESS_CLIENTS_PER_CONNECTION).
    const ids = Array.from({ length: 2 * MAX_AWARENESS_CLIENTS_PER_CONNECTION }, (_, i) =>
      i < MAX_AWARENESS_CLIENTS_PER_CONNECTION ? 5001 + i : 5101 + i,
    );
    const socketOf = (id: number) => (id < 5100 ? a : b);
    for (const id of ids) send(socketOf(id), id, 1, { id });
    await waitFor(() => ids.every((id) => seen(`${id}@1`)), 'the new states');
    // Renewals (the same states with the next clock), all at once: relayed in shares.
    const beforeRenewals = relayed().length;
    for (const id of ids) send(socketOf(id), id, 2, { id });
    await waitFor(() => ids.every((id) => seen(`${id}@2`)), 'the renewals');
    const renewals = relayed().slice(beforeRenewals);
    expect(renewals.flat().sort()).toEqual(ids.map((id) => `${id}@2`).sort());
    expect(renewals.length).toBeGreaterThan(1);
    for (const message of renewals) expect(message.length).toBeLessThan(ids.length);
    // Renewals wait; a change sent after them goes at once, alone.
    const beforeChange = relayed().length;
    for (const id of ids) send(socketOf(id), id, 3, { id });
    await Promise.all([handled(a), handled(b)]);
    send(a, 5001, 4, { id: 5001, moved: true });
    await waitFor(() => seen('5001@4'), 'the change');
    // The change carried 5001's waiting renewal (nothing of 5001 follows it); the other
    // renewals still arrive, each once.
    await waitFor(() => ids.every((id) => id === 5001 || seen(`${id}@3`)), 'the other renewals');
    const afterRenewals = relayed().slice(beforeChange);
    const changeAt = afterRenewals.findIndex((m) => m.includes('5001@4'));
    expect(afterRenewals[changeAt]).toEqual(['5001@4']);
    expect(
      afterRenewals
        .slice(changeAt + 1)
        .flat()
        .filter((e) => e.startsWith('5001@')),
    ).toEqual([]);
    expect(
      afterRenewals
        .flat()
        .filter((e) => e.endsWith('@3') && !e.startsWith('5001@'))
        .sort(),
    ).toEqual(
      ids
        .filter((id) => id !== 5001)
        .map((id) => `${id}@3`)
        .sort(),
    );
    // Ten changes sent back to back reach the others in fewer messages, ending on the last.
    const beforeBurst = relayed().length;
    for (let clock = 4; clock < 14; clock++) send(a, 5001, clock, { n: clock });
    await waitFor(() => seen('5001@13'), 'the last change of the burst');
    const burst = relayed().slice(beforeBurst);
    expect(burst.length).toBeLessThan(10);
    expect(burst.at(-1)).toEqual(['5001@13']);
  });

  it('a closed connection’s presence is removed for the others', async () => {
    const s = await server();
    const a = provider(s, 'alice');
    const b = provider(s, 'bob');
    await Promise.all([synced(a), synced(b)]);
    a.awareness.setLocalStateField('cursor', 7);
    await waitFor(() => b.awareness.getStates().has(a.doc.clientID), 'a at b');
    const socket = a.ws as unknown as { terminate(): void };
    a.shouldConnect = false;
    socket.terminate();
    await waitFor(() => !b.awareness.getStates().has(a.doc.clientID), 'a gone at b');
  });

  it.each([
    ['nobody', 4401],
    ['banned', 4403],
  ])(
    'a refused token (%s) is accepted then closed with %i, and the client stops retrying',
    async (token, code) => {
      const s = await server();
      const p = provider(s, token);
      const closed = await new Promise<{ code: number }>((resolve) =>
        p.on('closed', (event) => resolve(event)),
      );
      expect(closed.code).toBe(code);
      expect(p.shouldConnect).toBe(false);
      expect(p.synced).toBe(false);
    },
  );

  it('an authentication or lookup that throws closes with 1011 and loads nothing', async () => {
    const throwingAuth = await server({
      authenticate: async () => {
        throw new Error('auth backend down');
      },
    });
    const r1 = raw(throwingAuth, 'alice');
    expect((await r1.closed).code).toBe(1011);
    const throwingLookup = await server({
      sessionExists: async () => {
        throw new Error('lookup failed');
      },
    });
    const r2 = raw(throwingLookup, 'alice');
    expect((await r2.closed).code).toBe(1011);
    expect(r1.received).toEqual([]);
    expect(r2.received).toEqual([]);
    expect(throwingAuth.rooms.stats().rooms + throwingLookup.rooms.stats().rooms).toBe(0);
  });

  it('an unknown or malformed session id is closed with 4404', async () => {
    const s = await server();
    for (const id of ['no-such-session', 'bad%20id']) {
      const r = raw(s, 'alice', id);
      expect((await r.closed).code).toBe(4404);
      expect(r.received).toEqual([]);
    }
    expect(s.rooms.stats().rooms).toBe(0);
  });

  it('no sync reply before the stored document has loaded', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const seed = await server();
    const a = provider(seed, 'alice');
    await synced(a);
    params(a.doc).set('stored', 'yes');
    await serverHas(seed, (d) => read(d, 'stored') === 'yes', 'the edit at the server');
    a.destroy();
    const dataDir = seed.dataDir;
    await seed.rooms.close();
    await seed.storage.close();

    const slow = await server({
      dataDir,
      wrapStorage: (storage) => ({
        ...bind(storage),
        loadUpdates: async (id) => {
          await gate;
          return storage.loadUpdates(id);
        },
      }),
    });
    const socket = raw(slow, 'bob');
    await socket.opened;
    const b = provider(slow, 'bob');
    // Both have sent their step 1; nothing may be answered while the load is pending.
    await new Promise((r) => setTimeout(r, 100));
    expect(socket.received).toEqual([]);
    expect(b.synced).toBe(false);
    release();
    await synced(b);
    expect(read(b.doc, 'stored')).toBe('yes');
  });

  it('a failed load closes the connection (1011) and leaves no room; storage is untouched', async () => {
    let failing = true;
    const s = await server({
      wrapStorage: (storage) => ({
        ...bind(storage),
        loadUpdates: async (id) =>
          failing
            ? err(problem(ErrorCode.storage_failed, 'disk on fire'))
            : storage.loadUpdates(id),
      }),
    });
    await s.storage.appendUpdate(SESSION, updateSetting('stored', 1));
    const r = raw(s, 'alice');
    expect((await r.closed).code).toBe(1011);
    expect(r.received).toEqual([]);
    expect(s.rooms.stats().rooms).toBe(0);
    failing = false;
    const p = provider(s, 'alice');
    await synced(p);
    expect(p.doc.getMap('m').get('stored')).toBe(1);
  });

  it('a failed append drops the room and closes its connections; the client’s edit is stored once it reconnects', async () => {
    let failAppends = false;
    const s = await server({
      wrapStorage: (storage) => ({
        ...bind(storage),
        appendUpdate: async (id, u) =>
          failAppends
            ? err(problem(ErrorCode.storage_failed, 'disk full'))
            : storage.appendUpdate(id, u),
      }),
    });
    const a = provider(s, 'alice');
    const b = provider(s, 'bob');
    await Promise.all([synced(a), synced(b)]);
    const ref = await s.rooms.acquire(SESSION);
    if (!ref.ok) throw new Error('acquire failed');
    const invalidated: Problem[] = [];
    ref.value.onInvalidated((p) => invalidated.push(p));
    const closes: number[] = [];
    b.on('connection-close', (event) => closes.push(event?.code ?? 0));

    failAppends = true;
    params(a.doc).set('unstored', 1);
    await waitFor(() => invalidated.length === 1, 'the ref to be invalidated');
    expect(invalidated[0]?.code).toBe('storage_failed');
    await waitFor(() => closes.includes(1011), 'b to be closed with 1011');
    // Never broadcast: b did not receive what could not be stored.
    expect(read(b.doc, 'unstored')).toBeUndefined();

    failAppends = false;
    await waitFor(() => read(b.doc, 'unstored') === 1, 'b to get the edit after resync');
    await s.rooms.flushAll();
    const stored = await s.storage.loadUpdates(SESSION);
    const replayed = new Y.Doc();
    if (stored.ok) for (const u of stored.value.updates) Y.applyUpdate(replayed, u);
    expect((replayed.getMap('nodes').get('mix') as Y.Map<unknown>).get('unstored')).toBe(1);
    ref.value.release();
  });

  it('a ref’s own transactions are stored and broadcast; client transactions carry their connection and identity', async () => {
    const s = await server();
    const a = provider(s, 'alice');
    await synced(a);
    const ref = await s.rooms.acquire(SESSION);
    if (!ref.ok) throw new Error('acquire failed');
    const origins: ClientOrigin[] = [];
    ref.value.doc.on('afterTransaction', (tr: Y.Transaction) => {
      if (isClientOrigin(tr.origin)) origins.push(tr.origin);
    });
    const bridge = { kind: 'bridge' };
    ref.value.doc.transact(() => ref.value.doc.getMap('status').set('engine', 'running'), bridge);
    await waitFor(() => a.doc.getMap('status').get('engine') === 'running', 'a to see it');
    params(a.doc).set('gain', 2);
    await waitFor(() => origins.length > 0, 'a client transaction');
    expect(origins[0]?.identity).toEqual(TEST_IDENTITIES.alice);
    expect(typeof origins[0]?.connectionId).toBe('string');
    expect((await ref.value.flushed()).ok).toBe(true);
    const stored = await s.storage.loadUpdates(SESSION);
    const replayed = new Y.Doc();
    if (stored.ok) for (const u of stored.value.updates) Y.applyUpdate(replayed, u);
    expect(replayed.getMap('status').get('engine')).toBe('running');
    // The ref keeps the room loaded after every connection is gone.
    a.destroy();
    await waitFor(() => s.rooms.stats().connections === 0, 'a to leave');
    expect(s.rooms.stats().rooms).toBe(1);
    ref.value.release();
    await waitFor(() => s.rooms.stats().rooms === 0, 'unload after release');
  });

  it('evicting a deleted session closes its connections with 4404 and the client stops', async () => {
    const s = await server();
    const p = provider(s, 'alice');
    await synced(p);
    const closed = new Promise<{ code: number }>((resolve) => p.on('closed', resolve));
    await s.storage.deleteSession(SESSION);
    s.rooms.evict(SESSION);
    expect((await closed).code).toBe(4404);
    expect(s.rooms.stats()).toEqual({ rooms: 0, connections: 0 });
  });

  it('a client joining while the room is unloading keeps it: nothing is dropped or reloaded', async () => {
    let releaseAppends: () => void = () => {};
    let gate: Promise<void> | null = null;
    let loads = 0;
    const s = await server({
      wrapStorage: (storage) => ({
        ...bind(storage),
        loadUpdates: (id) => {
          loads++;
          return storage.loadUpdates(id);
        },
        appendUpdate: async (id, u) => {
          if (gate) await gate;
          return storage.appendUpdate(id, u);
        },
      }),
    });
    const a = provider(s, 'alice');
    await synced(a);
    gate = new Promise<void>((r) => (releaseAppends = r));
    params(a.doc).set('while_unloading', 1);
    await waitFor(
      () => (s.metrics.counters.get(YjsMetric.updates) ?? 0) >= 2,
      'the edit at the server',
    );
    a.destroy();
    // The room is now unused and waiting for its updates to be stored before it unloads.
    await waitFor(() => s.rooms.stats().connections === 0, 'a to leave');
    const b = provider(s, 'bob');
    await waitFor(() => s.rooms.stats().connections === 1, 'b to join');
    releaseAppends();
    gate = null;
    await synced(b);
    await waitFor(() => read(b.doc, 'while_unloading') === 1, 'b to get the edit');
    expect(loads).toBe(1);
    expect(s.rooms.stats().rooms).toBe(1);
    params(b.doc).set('after', 2);
    await serverHas(s, (d) => read(d, 'after') === 2, 'the room to still work');
    const stored = await s.storage.loadUpdates(SESSION);
    const replayed = new Y.Doc();
    if (stored.ok) for (const u of stored.value.updates) Y.applyUpdate(replayed, u);
    expect(replayed.getMap('nodes').toJSON()).toEqual({ mix: { while_unloading: 1, after: 2 } });
  });

  it('a viewer’s presence is shown, stamped with its identity and role', async () => {
    const s = await server();
    const editor = provider(s, 'alice');
    const viewer = provider(s, 'victor');
    await Promise.all([synced(editor), synced(viewer)]);
    viewer.awareness.setLocalStateField('cursor', 9);
    await waitFor(() => editor.awareness.getStates().has(viewer.doc.clientID), 'viewer presence');
    expect(editor.awareness.getStates().get(viewer.doc.clientID)).toEqual({
      cursor: 9,
      user: { id: 'u-victor', name: 'Victor', color: '#9333ea', role: 'viewer' },
    });
  });

  it('acquire answers not_found for an unknown session and bad_request for a malformed id', async () => {
    const s = await server();
    const unknown = await s.rooms.acquire('nobody-here');
    expect(!unknown.ok && unknown.error.code).toBe('not_found');
    const bad = await s.rooms.acquire('../etc');
    expect(!bad.ok && bad.error.code).toBe('bad_request');
    expect(s.rooms.stats().rooms).toBe(0);
  });

  it('evicting a session whose room is still loading closes its waiting connections with 4404', async () => {
    let releaseLoad: () => void = () => {};
    const gate = new Promise<void>((r) => (releaseLoad = r));
    const s = await server({
      wrapStorage: (storage) => ({
        ...bind(storage),
        loadUpdates: async (id) => {
          await gate;
          return storage.loadUpdates(id);
        },
      }),
    });
    const r = raw(s, 'alice');
    await r.opened;
    s.rooms.evict(SESSION);
    releaseLoad();
    expect((await r.closed).code).toBe(4404);
    expect(r.received).toEqual([]);
    expect(s.rooms.stats()).toEqual({ rooms: 0, connections: 0 });
  });

  it('updates stored in one batch reach a non-author as one merged frame and authors as the others’ updates; all converge', async () => {
    let releaseAppends: () => void = () => {};
    let gate: Promise<void> | null = null;
    const s = await server({
      wrapStorage: (storage) => ({
        ...bind(storage),
        appendUpdate: async (id, u) => {
          if (gate) await gate;
          return storage.appendUpdate(id, u);
        },
      }),
    });
    const a = provider(s, 'alice');
    const b = provider(s, 'bob');
    await Promise.all([synced(a), synced(b)]);
    const watcher = await watchUpdates(s);

    gate = new Promise<void>((r) => (releaseAppends = r));
    for (let i = 0; i < 5; i++) {
      a.doc.getMap('a').set(`k${i}`, i);
      b.doc.getMap('b').set(`k${i}`, i);
    }
    await waitFor(
      () => (s.metrics.counters.get(YjsMetric.updates) ?? 0) >= 10,
      'all 10 edits at the server',
    );
    releaseAppends();
    gate = null;
    const expected = {
      a: { k0: 0, k1: 1, k2: 2, k3: 3, k4: 4 },
      b: { k0: 0, k1: 1, k2: 2, k3: 3, k4: 4 },
    };
    const state = (d: Y.Doc) => ({ a: d.getMap('a').toJSON(), b: d.getMap('b').toJSON() });
    await waitFor(
      () =>
        isDeepStrictEqual(state(watcher.doc), expected) &&
        isDeepStrictEqual(state(a.doc), expected) &&
        isDeepStrictEqual(state(b.doc), expected),
      'everyone to converge',
    );
    expect(watcher.frames()).toBeLessThan(10);
  });

  it('updates from one turn of the loop (one socket read) go to the others as one merged frame, the first included', async () => {
    const s = await server();
    const watcher = await watchUpdates(s);

    // A writer whose three edits reach the server in one read: its transport hands the room
    // three frames in one go, as ws does for one TCP read holding three frames.
    const writer = new Y.Doc();
    const frames: Uint8Array[] = [];
    writer.on('update', (u: Uint8Array) => frames.push(encodeUpdateFrame(u)));
    for (let i = 0; i < 3; i++) writer.getMap('nodes').set(`k${i}`, i);
    const sent: Uint8Array[] = [];
    const handle = s.rooms.connect(SESSION, TEST_IDENTITIES.alice as Identity, {
      send: (data) => sent.push(data),
      close: () => {},
      terminate: () => {},
      ping: () => {},
      bufferedAmount: 0,
    });
    await waitFor(() => sent.length > 0, 'the writer greeted');
    handle.receive(Uint8Array.from([0, 1, 2, 0, 0]));
    for (const frame of frames) handle.receive(frame);

    await waitFor(
      () => isDeepStrictEqual(watcher.doc.getMap('nodes').toJSON(), { k0: 0, k1: 1, k2: 2 }),
      'the watcher to have all three edits',
    );
    expect(watcher.frames()).toBe(1);
    handle.closed();
  });

  it('an update with a gap (structs after ones the room never had) is not kept; the connection is closed with 1013 to resync', async () => {
    const s = await server();
    const honest = provider(s, 'bob');
    await synced(honest);
    const forger = new Y.Doc();
    const updates: Uint8Array[] = [];
    forger.on('update', (u: Uint8Array) => updates.push(u));
    forger.getMap('nodes').set('first', 1);
    forger.getMap('nodes').set('second', 2);
    const r = raw(s, 'alice');
    await r.opened;
    // After its first sync (an empty step 2), a client's gap is not a race any more.
    r.ws.send(Uint8Array.from([0, 1, 2, 0, 0]));
    r.ws.send(encodeUpdateFrame(updates[1] as Uint8Array));
    expect((await r.closed).code).toBe(1013);
    const ref = await s.rooms.acquire(SESSION);
    if (!ref.ok) throw new Error(ref.error.message);
    expect(ref.value.doc.store.pendingStructs).toBeNull();
    expect(ref.value.doc.getMap('nodes').toJSON()).toEqual({});
    ref.value.release();
    // The whole history in order is accepted.
    const r2 = raw(s, 'alice');
    await r2.opened;
    for (const u of updates) r2.ws.send(encodeUpdateFrame(u));
    await waitFor(() => honest.doc.getMap('nodes').get('second') === 2, 'the ordered updates');
  });

  it('an update sent ahead of the step 2 it depends on (a quick edit after reconnecting) is held, then applied', async () => {
    const s = await server();
    const honest = provider(s, 'bob');
    await synced(honest);
    const offline = new Y.Doc();
    const updates: Uint8Array[] = [];
    offline.on('update', (u: Uint8Array) => updates.push(u));
    offline.getMap('nodes').set('offline_edit', 1);
    offline.getMap('nodes').set('edit_after_reconnect', 2);
    const r = raw(s, 'alice');
    await r.opened;
    // The new edit first, then the step 2 that carries the offline edit it follows.
    r.ws.send(encodeUpdateFrame(updates[1] as Uint8Array));
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, updates[0] as Uint8Array);
    r.ws.send(encoding.toUint8Array(e));
    await waitFor(
      () => honest.doc.getMap('nodes').get('edit_after_reconnect') === 2,
      'both edits at the other client',
    );
    expect(honest.doc.getMap('nodes').toJSON()).toEqual({
      offline_edit: 1,
      edit_after_reconnect: 2,
    });
    expect(r.ws.readyState).toBe(r.ws.OPEN);
  });

  it('a frame above maxFrameBytes closes that connection with 1009; others are unaffected', async () => {
    const s = await server({ maxFrameBytes: 4096 });
    const honest = provider(s, 'bob');
    await synced(honest);
    const big = raw(s, 'alice');
    await big.opened;
    big.ws.send(new Uint8Array(10_000));
    expect((await big.closed).code).toBe(1009);
    params(honest.doc).set('still', 'fine');
    const late = provider(s, 'alice');
    await synced(late);
    await waitFor(() => read(late.doc, 'still') === 'fine', 'the document to be intact');
  });

  it('a text frame closes the connection with 1003', async () => {
    const s = await server();
    const r = raw(s, 'alice');
    await r.opened;
    r.ws.send('hello');
    expect((await r.closed).code).toBe(1003);
  });

  it('a connection that stops answering pings is closed; one that answers stays', async () => {
    const s = await server({ pingIntervalMs: 30 });
    const silent = raw(s, 'alice', SESSION, { autoPong: false });
    const healthy = raw(s, 'bob');
    await Promise.all([silent.opened, healthy.opened]);
    const closed = await silent.closed;
    expect(closed.code).toBe(1006); // terminated without a closing handshake
    expect(healthy.ws.readyState).toBe(healthy.ws.OPEN);
    expect(s.rooms.stats().connections).toBe(1);
  });

  it('publishes open rooms, connections, updates and fan-out time as metrics', async () => {
    const s = await server();
    const a = provider(s, 'alice');
    await synced(a);
    await waitFor(() => s.metrics.gauges.get(YjsMetric.rooms) === 1, 'rooms gauge');
    expect(s.metrics.gauges.get(YjsMetric.connections)).toBe(1);
    params(a.doc).set('x', 1);
    params(a.doc).set('y', 2);
    await waitFor(() => (s.metrics.counters.get(YjsMetric.updates) ?? 0) >= 3, 'updates counted');
    // Each stored and broadcast update reports how long the room took with it.
    await waitFor(
      () => s.metrics.observations.filter((o) => o.name === YjsMetric.fanout).length >= 3,
      'fan-out times observed',
    );
    a.destroy();
    await waitFor(() => s.metrics.gauges.get(YjsMetric.rooms) === 0, 'rooms back to 0');
    expect(s.metrics.gauges.get(YjsMetric.connections)).toBe(0);
  });
});

function encodeUpdateFrame(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, 2);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

function updateSetting(key: string, value: number): Uint8Array {
  const doc = new Y.Doc();
  doc.getMap('m').set(key, value);
  return Y.encodeStateAsUpdate(doc);
}

/** A Storage's methods bound to it, so a test can override some of them with a spread. */
function bind(storage: Storage): Storage {
  return {
    createSession: (i) => storage.createSession(i),
    listSessions: () => storage.listSessions(),
    getSession: (id) => storage.getSession(id),
    renameSession: (id, n) => storage.renameSession(id, n),
    deleteSession: (id) => storage.deleteSession(id),
    appendUpdate: (id, u) => storage.appendUpdate(id, u),
    loadUpdates: (id) => storage.loadUpdates(id),
    compact: (id) => storage.compact(id),
    close: () => storage.close(),
  };
}
