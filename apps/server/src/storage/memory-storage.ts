/**
 * An in-process Storage with no durability: for tests and tools that need a backend without a
 * file. It keeps the same contract as the SQLite backend (the contract suite runs on both).
 */
import * as Y from 'yjs';
import { ErrorCode, err, ok, problem } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import { checkSessionId, checkSessionName, checkUpdate } from './storage';
import type { CompactionReport, SessionRecord, Storage, StoredDocument } from './storage';

interface MemorySession {
  record: SessionRecord;
  snapshot: Uint8Array | null;
  updates: Uint8Array[];
}

/** Creates an empty in-memory Storage. */
export function createMemoryStorage(now: () => number = Date.now): Storage {
  const sessions = new Map<string, MemorySession>();
  let closed = false;
  const closedErr = () => err(problem(ErrorCode.storage_failed, 'storage is closed'));
  const notFound = (id: string) =>
    err(problem(ErrorCode.not_found, `session ${id} does not exist`));

  return {
    async createSession({ id, name }): Promise<Result<SessionRecord>> {
      const bad = checkSessionId(id) ?? checkSessionName(name);
      if (bad) return err(bad);
      if (closed) return closedErr();
      if (sessions.has(id)) {
        return err(problem(ErrorCode.bad_request, `session ${id} already exists`));
      }
      const t = now();
      const record = { id, name, createdAt: t, updatedAt: t };
      sessions.set(id, { record, snapshot: null, updates: [] });
      return ok(record);
    },
    async listSessions() {
      if (closed) return closedErr();
      return ok(
        [...sessions.values()]
          .map((s) => s.record)
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      );
    },
    async getSession(id) {
      const bad = checkSessionId(id);
      if (bad) return err(bad);
      if (closed) return closedErr();
      const s = sessions.get(id);
      return s ? ok(s.record) : notFound(id);
    },
    async renameSession(id, name) {
      const bad = checkSessionId(id) ?? checkSessionName(name);
      if (bad) return err(bad);
      if (closed) return closedErr();
      const s = sessions.get(id);
      if (!s) return notFound(id);
      s.record = { ...s.record, name, updatedAt: now() };
      return ok(s.record);
    },
    async deleteSession(id) {
      const bad = checkSessionId(id);
      if (bad) return err(bad);
      if (closed) return closedErr();
      return sessions.delete(id) ? ok(undefined) : notFound(id);
    },
    async appendUpdate(sessionId, update) {
      const bad = checkSessionId(sessionId) ?? checkUpdate(update);
      if (bad) return err(bad);
      if (closed) return closedErr();
      const s = sessions.get(sessionId);
      if (!s) return notFound(sessionId);
      s.updates.push(Uint8Array.from(update));
      s.record = { ...s.record, updatedAt: now() };
      return ok(undefined);
    },
    async loadUpdates(sessionId): Promise<Result<StoredDocument>> {
      const bad = checkSessionId(sessionId);
      if (bad) return err(bad);
      if (closed) return closedErr();
      const s = sessions.get(sessionId);
      if (!s) return notFound(sessionId);
      return ok({ snapshot: s.snapshot, updates: [...s.updates] });
    },
    async compact(sessionId): Promise<Result<CompactionReport>> {
      const bad = checkSessionId(sessionId);
      if (bad) return err(bad);
      if (closed) return closedErr();
      const s = sessions.get(sessionId);
      if (!s) return notFound(sessionId);
      if (s.updates.length === 0) {
        return ok({ updatesCompacted: 0, snapshotBytes: s.snapshot?.byteLength ?? 0 });
      }
      const doc = new Y.Doc();
      let state: Uint8Array;
      try {
        if (s.snapshot) Y.applyUpdate(doc, s.snapshot);
        for (const u of s.updates) Y.applyUpdate(doc, u);
        state = Y.encodeStateAsUpdate(doc);
      } catch {
        return err(problem(ErrorCode.storage_failed, 'a stored update is corrupt'));
      } finally {
        doc.destroy();
      }
      const n = s.updates.length;
      s.snapshot = state;
      s.updates = [];
      return ok({ updatesCompacted: n, snapshotBytes: state.byteLength });
    },
    async close() {
      closed = true;
    },
  };
}
