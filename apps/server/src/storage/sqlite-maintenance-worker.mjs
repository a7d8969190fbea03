/**
 * The SQLite storage's maintenance thread (started by sqlite-maintenance.ts): its own read-only
 * use of `patchbay.db` on a second connection, for the two slow jobs that must not run on the
 * server's event loop.
 *
 * - WAL checkpoints: PASSIVE every `checkpointIntervalMs`. A passive checkpoint copies WAL pages
 *   into the database and fsyncs without taking the write lock, so the server's commits go on
 *   meanwhile. When the WAL has kept growing past `restartFrames` (a room that never pauses
 *   leaves no moment where the WAL is fully copied and can start over), one RESTART checkpoint
 *   bounds it; that one makes the writer wait while it runs.
 * - Compaction: replays a session's snapshot and updates into a Y.Doc (in one read transaction,
 *   so both come from the same state) and hands back the encoded state. The server writes the
 *   snapshot and deletes the covered updates itself, in a short transaction.
 *
 * Plain JavaScript: a worker thread starts without the TypeScript loader the server may run
 * under.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import Database from 'libsql';
import * as Y from 'yjs';

const { path, checkpointIntervalMs, restartFrames, busyTimeoutMs } = workerData;
const db = new Database(path);
db.pragma(`busy_timeout = ${busyTimeoutMs}`);
const stmt = {
  getSnapshot: db.prepare('SELECT upto_seq, blob FROM snapshots WHERE session_id = ?'),
  updatesAfter: db.prepare(
    'SELECT seq, blob FROM updates WHERE session_id = ? AND seq > ? ORDER BY seq',
  ),
  passive: db.prepare('PRAGMA wal_checkpoint(PASSIVE)'),
  restart: db.prepare('PRAGMA wal_checkpoint(RESTART)'),
};

// The WAL size (frames) the last RESTART left; a WAL still that size has not been written since.
let restartedAt = -1;

function checkpoint() {
  const start = performance.now();
  let row = stmt.passive.get([]);
  let mode = 'passive';
  if (row.log >= restartFrames && row.log !== restartedAt) {
    row = stmt.restart.get([]);
    restartedAt = row.log;
    mode = 'restart';
  }
  return { mode, ms: performance.now() - start, log: row.log, checkpointed: row.checkpointed };
}

function compactState(sessionId) {
  return db.transaction(() => {
    const snap = stmt.getSnapshot.get([sessionId]);
    const baseSeq = snap ? snap.upto_seq : -1;
    const rows = stmt.updatesAfter.all([sessionId, baseSeq]);
    const last = rows.at(-1);
    if (last === undefined) return { baseSeq, uptoSeq: baseSeq, state: null, updates: 0 };
    // Through a Y.Doc, never Y.mergeUpdates: the doc drops overwritten values.
    const doc = new Y.Doc();
    try {
      if (snap) Y.applyUpdate(doc, new Uint8Array(snap.blob));
      for (const row of rows) Y.applyUpdate(doc, new Uint8Array(row.blob));
      return {
        baseSeq,
        uptoSeq: last.seq,
        state: Y.encodeStateAsUpdate(doc),
        updates: rows.length,
      };
    } finally {
      doc.destroy();
    }
  })();
}

let timer = setInterval(() => {
  try {
    parentPort.postMessage({ type: 'checkpointed', ...checkpoint() });
  } catch (cause) {
    parentPort.postMessage({ type: 'checkpoint_failed', message: String(cause) });
  }
}, checkpointIntervalMs);

parentPort.on('message', (message) => {
  switch (message.type) {
    case 'compact': {
      const start = performance.now();
      try {
        const result = compactState(message.sessionId);
        const transfer = result.state ? [result.state.buffer] : [];
        parentPort.postMessage(
          { type: 'compacted', id: message.id, ms: performance.now() - start, ...result },
          transfer,
        );
      } catch (cause) {
        parentPort.postMessage({ type: 'compact_failed', id: message.id, message: String(cause) });
      }
      return;
    }
    case 'crash':
      // For tests: a thread that dies on its own.
      throw new Error('maintenance thread crash requested');
    case 'close':
      clearInterval(timer);
      timer = undefined;
      db.close();
      parentPort.close();
      return;
  }
});
