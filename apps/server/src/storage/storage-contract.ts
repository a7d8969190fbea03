/**
 * The contract every Storage backend keeps, as one vitest suite. A backend's test file calls
 * `describeStorageContract('name', open)`; `open` gives a fresh, empty backend and, for durable
 * backends, a way to reopen the same store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Storage, StoredDocument } from './storage';

export interface StorageUnderTest {
  readonly storage: Storage;
  /** Closes `storage` and opens the same store again (durable backends only). */
  readonly reopen?: () => Promise<Storage>;
  readonly cleanup: () => Promise<void>;
}

/** Replays a stored document into a fresh Y.Doc. */
export function replay(stored: StoredDocument): Y.Doc {
  const doc = new Y.Doc();
  if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const u of stored.updates) Y.applyUpdate(doc, u);
  return doc;
}

/** Collects the updates a series of edits produces, one update per edit. */
function edits(n: number, keyOf: (i: number) => string = (i) => `k${i % 7}`): Uint8Array[] {
  const doc = new Y.Doc();
  const out: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => out.push(u));
  const params = doc.getMap('nodes').set('gain', new Y.Map<unknown>());
  for (let i = 0; i < n; i++) params.set(keyOf(i), i);
  return out;
}

function json(doc: Y.Doc): unknown {
  return doc.getMap('nodes').toJSON();
}

export function describeStorageContract(
  name: string,
  open: () => Promise<StorageUnderTest>,
  options: { durable: boolean },
): void {
  describe(`Storage contract: ${name}`, () => {
    let current: StorageUnderTest | undefined;
    const fresh = async () => {
      current = await open();
      return current.storage;
    };
    afterEach(async () => {
      await current?.cleanup();
      current = undefined;
    });

    it('creates, lists, gets, renames and deletes sessions', async () => {
      const s = await fresh();
      const a = await s.createSession({ id: 'a', name: 'First' });
      const b = await s.createSession({ id: 'b-2', name: 'Second' });
      expect(a.ok && b.ok).toBe(true);
      const list = await s.listSessions();
      expect(list.ok && list.value.map((r) => [r.id, r.name])).toEqual([
        ['a', 'First'],
        ['b-2', 'Second'],
      ]);
      const renamed = await s.renameSession('a', 'Renamed');
      expect(renamed.ok && renamed.value.name).toBe('Renamed');
      const got = await s.getSession('a');
      expect(got.ok && got.value.name).toBe('Renamed');
      expect((await s.deleteSession('a')).ok).toBe(true);
      const gone = await s.getSession('a');
      expect(!gone.ok && gone.error.code).toBe('not_found');
      const after = await s.listSessions();
      expect(after.ok && after.value.map((r) => r.id)).toEqual(['b-2']);
    });

    it('refuses a duplicate id, bad ids and bad names with bad_request and keeps what is stored', async () => {
      const s = await fresh();
      await s.createSession({ id: 'a', name: 'Original' });
      const dup = await s.createSession({ id: 'a', name: 'Other' });
      expect(!dup.ok && dup.error.code).toBe('bad_request');
      for (const id of ['', 'has space', 'a/b', 'x'.repeat(129), 42 as unknown as string]) {
        const r = await s.createSession({ id, name: 'n' });
        expect(!r.ok && r.error.code, `id ${String(id)}`).toBe('bad_request');
      }
      const longName = await s.createSession({ id: 'c', name: 'n'.repeat(257) });
      expect(!longName.ok && longName.error.code).toBe('bad_request');
      const badRename = await s.renameSession('a', 7 as unknown as string);
      expect(!badRename.ok && badRename.error.code).toBe('bad_request');
      const list = await s.listSessions();
      expect(list.ok && list.value.map((r) => [r.id, r.name])).toEqual([['a', 'Original']]);
    });

    it('answers not_found for every call on an unknown session', async () => {
      const s = await fresh();
      const results = [
        await s.getSession('nope'),
        await s.renameSession('nope', 'x'),
        await s.deleteSession('nope'),
        await s.appendUpdate('nope', new Uint8Array([0, 0])),
        await s.loadUpdates('nope'),
        await s.compact('nope'),
      ];
      for (const r of results) expect(!r.ok && r.error.code).toBe('not_found');
    });

    it('refuses an empty or non-byte update with bad_request', async () => {
      const s = await fresh();
      await s.createSession({ id: 'a', name: 'A' });
      for (const u of [new Uint8Array(0), 'text' as unknown as Uint8Array]) {
        const r = await s.appendUpdate('a', u);
        expect(!r.ok && r.error.code).toBe('bad_request');
      }
      const loaded = await s.loadUpdates('a');
      expect(loaded.ok && loaded.value.updates.length).toBe(0);
    });

    it('appended updates (concurrent ones too) replay to the same document, in order', async () => {
      const s = await fresh();
      await s.createSession({ id: 'a', name: 'A' });
      const updates = edits(50);
      const results = await Promise.all(updates.map((u) => s.appendUpdate('a', u)));
      expect(results.every((r) => r.ok)).toBe(true);
      const loaded = await s.loadUpdates('a');
      expect(loaded.ok).toBe(true);
      if (!loaded.ok) return;
      expect(loaded.value.updates.map((u) => Array.from(u))).toEqual(
        updates.map((u) => Array.from(u)),
      );
      const expected = new Y.Doc();
      for (const u of updates) Y.applyUpdate(expected, u);
      expect(json(replay(loaded.value))).toEqual(json(expected));
    });

    it('compaction keeps the document identical and leaves no updates behind', async () => {
      const s = await fresh();
      await s.createSession({ id: 'a', name: 'A' });
      const updates = edits(300);
      for (const u of updates.slice(0, 200)) await s.appendUpdate('a', u);
      const before = await s.loadUpdates('a');
      const report = await s.compact('a');
      expect(report.ok && report.value.updatesCompacted).toBeGreaterThan(0);
      const after = await s.loadUpdates('a');
      expect(before.ok && after.ok).toBe(true);
      if (!before.ok || !after.ok) return;
      expect(after.value.updates.length).toBe(0);
      expect(after.value.snapshot).not.toBeNull();
      expect(json(replay(after.value))).toEqual(json(replay(before.value)));
      // Appends after a compaction land after the snapshot.
      for (const u of updates.slice(200)) await s.appendUpdate('a', u);
      const later = await s.loadUpdates('a');
      const expected = new Y.Doc();
      for (const u of updates) Y.applyUpdate(expected, u);
      expect(later.ok && json(replay(later.value))).toEqual(json(expected));
      const again = await s.compact('a');
      const none = await s.compact('a');
      expect(again.ok && again.value.updatesCompacted).toBe(updates.length - 200);
      expect(none.ok && none.value.updatesCompacted).toBe(0);
    });

    it('deleting a session deletes its document: a new session with its id starts empty', async () => {
      const s = await fresh();
      await s.createSession({ id: 'a', name: 'A' });
      for (const u of edits(20)) await s.appendUpdate('a', u);
      await s.compact('a');
      for (const u of edits(5)) await s.appendUpdate('a', u);
      expect((await s.deleteSession('a')).ok).toBe(true);
      await s.createSession({ id: 'a', name: 'Again' });
      const loaded = await s.loadUpdates('a');
      expect(loaded.ok && loaded.value).toEqual({ snapshot: null, updates: [] });
    });

    it('after close every call fails with storage_failed', async () => {
      const s = await fresh();
      await s.createSession({ id: 'a', name: 'A' });
      await s.close();
      const results = [
        await s.listSessions(),
        await s.getSession('a'),
        await s.appendUpdate('a', new Uint8Array([0, 0])),
        await s.loadUpdates('a'),
      ];
      for (const r of results) expect(!r.ok && r.error.code).toBe('storage_failed');
    });

    it.runIf(options.durable)(
      'a reopened store has every session and update that had resolved',
      async () => {
        const s = await fresh();
        const reopen = current?.reopen;
        expect(reopen).toBeDefined();
        if (!reopen) return;
        await s.createSession({ id: 'a', name: 'A' });
        const updates = edits(40);
        await Promise.all(updates.map((u) => s.appendUpdate('a', u)));
        const reopened = await reopen();
        const got = await reopened.getSession('a');
        expect(got.ok && got.value.name).toBe('A');
        const loaded = await reopened.loadUpdates('a');
        const expected = new Y.Doc();
        for (const u of updates) Y.applyUpdate(expected, u);
        expect(loaded.ok && json(replay(loaded.value))).toEqual(json(expected));
      },
    );
  });
}
