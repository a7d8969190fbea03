/**
 * The embedded storage backend: one SQLite file (`patchbay.db` in the data dir) through libsql.
 *
 * Durability: WAL with `synchronous = NORMAL` by default. The rule to keep is "a server killed
 * with SIGKILL loses no update it had broadcast", and a commit in WAL mode has written its pages
 * to the WAL file with write(2) before it returns; the kernel keeps them when the process dies,
 * so NORMAL already survives a killed process. FULL adds an fsync of the WAL on every commit,
 * which only matters when the whole machine loses power or the kernel crashes; pass
 * `synchronous: 'FULL'` to buy that at the price of a disk flush per commit.
 *
 * Appends made in the same turn of the event loop are committed together in one transaction
 * (group commit), and each append's promise resolves after that commit.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'libsql';
import * as Y from 'yjs';
import { ErrorCode, err, ok, problem } from '@patchbay/protocol';
import type { Problem, Result } from '@patchbay/protocol';
import type { Logger } from '@patchbay/engine';
import type { ServerMetrics } from '../host/server-context';
import { SQLITE_BUSY_TIMEOUT_MS, SqliteMaintenance } from './sqlite-maintenance';
import { SqliteThreadStorage } from './sqlite-thread-storage';
import { checkSessionId, checkSessionName, checkUpdate } from './storage';
import type { CompactionReport, SessionRecord, Storage, StoredDocument } from './storage';

/** The database file inside the data dir. */
export const SQLITE_FILE_NAME = 'patchbay.db';
/** A session's updates are compacted into its snapshot once this many have accumulated. */
export const COMPACT_EVERY_UPDATES = 500;
/** Summary metric (milliseconds) for storage calls, labelled `op`. */
export const STORAGE_LATENCY_METRIC = 'patchbay_storage_latency_ms';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS updates (
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  blob BLOB NOT NULL,
  PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  session_id TEXT PRIMARY KEY,
  upto_seq INTEGER NOT NULL,
  blob BLOB NOT NULL
);
`;

export interface SqliteStorageOptions {
  /** The folder holding `patchbay.db`; it must exist. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** See the module comment. Default NORMAL. */
  readonly synchronous?: 'NORMAL' | 'FULL';
  /** Default COMPACT_EVERY_UPDATES. */
  readonly compactEvery?: number;
  /** Wall clock for created_at / updated_at. Default Date.now. */
  readonly now?: () => number;
  /**
   * Checkpoints and compaction replays on a maintenance thread (default true). With false they
   * run on this connection, on the caller's thread: SQLite's own automatic checkpoints.
   */
  readonly maintenanceThread?: boolean;
}

/** SQLite's default automatic checkpoint threshold (pages), used when there is no thread. */
const DEFAULT_WAL_AUTOCHECKPOINT = 1000;

interface SessionRow {
  id: string;
  name: string;
  created_at: number;
  updated_at: number;
}

interface PendingAppend {
  readonly sessionId: string;
  readonly update: Uint8Array;
  readonly startedMs: number;
  readonly resolve: (result: Result<void>) => void;
}

/**
 * Opens (creating when missing) the database under `dataDir`. By default the storage runs on
 * the caller's thread, with checkpoints and compaction replay on the maintenance thread: an
 * append is a write into the WAL (0.15 ms at p50), cheaper than a round trip to another
 * thread. `thread: true` runs every call on a storage thread of its own
 * (`sqlite-thread-storage.ts`): the file is checked and prepared here first, so a bad data dir
 * or file is still an error returned at once.
 */
export function openSqliteStorage(
  options: SqliteStorageOptions & { readonly thread?: boolean },
): Result<Storage> {
  if (options.thread !== true || options.now !== undefined) return openSqliteStorageHere(options);
  const prepared = openDatabase(options);
  if (!prepared.ok) return prepared;
  prepared.value.close();
  return ok(new SqliteThreadStorage(options));
}

/** The storage on the caller's thread (the storage thread runs this). */
export function openSqliteStorageHere(options: SqliteStorageOptions): Result<SqliteStorage> {
  const opened = openDatabase(options);
  if (!opened.ok) return opened;
  const path = join(options.dataDir, SQLITE_FILE_NAME);
  const db = opened.value;
  // Checkpoints belong to the maintenance thread; never inside a commit on this loop.
  if (options.maintenanceThread !== false) db.pragma('wal_autocheckpoint = 0');
  return ok(new SqliteStorage(db, path, options));
}

function openDatabase(options: SqliteStorageOptions): Result<Database.Database> {
  const path = join(options.dataDir, SQLITE_FILE_NAME);
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (cause) {
    return failed(options.logger, cause, `cannot open ${path}`, { op: 'open' });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    db.pragma('foreign_keys = OFF');
    // libsql's pragma() ignores `simple`; read the row instead.
    const version = (db.prepare('PRAGMA user_version').get([]) as { user_version: number })
      .user_version;
    if (version > SCHEMA_VERSION) {
      db.close();
      return err(
        problem(
          ErrorCode.storage_failed,
          `${path} was written by a newer Patchbay (schema ${version}, this one knows ${SCHEMA_VERSION})`,
        ),
      );
    }
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    // A RESTART checkpoint on the maintenance thread holds the write lock for a moment.
    db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  } catch (cause) {
    db.close();
    return failed(options.logger, cause, `cannot prepare ${path}`, { op: 'open' });
  }
  return ok(db);
}

/** The embedded Storage; `maintenance` is exposed for tests of its fallback. */
export class SqliteStorage implements Storage {
  private readonly log: Logger;
  private readonly metrics: ServerMetrics;
  private readonly now: () => number;
  private readonly compactEvery: number;
  private closed = false;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  /** Next seq per session, learned from the database on first use. */
  private readonly nextSeq = new Map<string, number>();
  /** Updates stored after the snapshot, per session, learned on first use. */
  private readonly sinceSnapshot = new Map<string, number>();
  private readonly compactionScheduled = new Set<string>();
  private readonly stmt;
  /** The maintenance thread; null when disabled or once it stopped. */
  maintenance: SqliteMaintenance | null = null;

  constructor(
    private readonly db: Database.Database,
    path: string,
    options: SqliteStorageOptions,
  ) {
    this.log = options.logger.child({ mod: 'storage' });
    this.metrics = options.metrics;
    this.now = options.now ?? Date.now;
    this.compactEvery = options.compactEvery ?? COMPACT_EVERY_UPDATES;
    if (options.maintenanceThread !== false) {
      this.maintenance = new SqliteMaintenance({
        path,
        log: this.log,
        metrics: this.metrics,
        latencyMetric: STORAGE_LATENCY_METRIC,
        onStopped: () => this.maintenanceStopped(),
      });
    }
    this.stmt = {
      insertSession: db.prepare(
        'INSERT INTO sessions (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)',
      ),
      listSessions: db.prepare(
        'SELECT id, name, created_at, updated_at FROM sessions ORDER BY created_at, id',
      ),
      getSession: db.prepare('SELECT id, name, created_at, updated_at FROM sessions WHERE id = ?'),
      renameSession: db.prepare('UPDATE sessions SET name = ?, updated_at = ? WHERE id = ?'),
      touchSession: db.prepare('UPDATE sessions SET updated_at = ? WHERE id = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id = ?'),
      deleteUpdates: db.prepare('DELETE FROM updates WHERE session_id = ?'),
      deleteSnapshot: db.prepare('DELETE FROM snapshots WHERE session_id = ?'),
      insertUpdate: db.prepare('INSERT INTO updates (session_id, seq, blob) VALUES (?, ?, ?)'),
      maxSeq: db.prepare(
        `SELECT max(m) AS m FROM (
           SELECT max(seq) AS m FROM updates WHERE session_id = ?
           UNION ALL SELECT upto_seq AS m FROM snapshots WHERE session_id = ?)`,
      ),
      countUpdates: db.prepare('SELECT count(*) AS n FROM updates WHERE session_id = ?'),
      getSnapshot: db.prepare('SELECT upto_seq, blob FROM snapshots WHERE session_id = ?'),
      updatesAfter: db.prepare(
        'SELECT seq, blob FROM updates WHERE session_id = ? AND seq > ? ORDER BY seq',
      ),
      upsertSnapshot: db.prepare(
        `INSERT INTO snapshots (session_id, upto_seq, blob) VALUES (?, ?, ?)
         ON CONFLICT (session_id) DO UPDATE SET upto_seq = excluded.upto_seq, blob = excluded.blob`,
      ),
      deleteUpdatesUpTo: db.prepare('DELETE FROM updates WHERE session_id = ? AND seq <= ?'),
    };
  }

  async createSession(input: { id: string; name: string }): Promise<Result<SessionRecord>> {
    const bad = checkSessionId(input.id) ?? checkSessionName(input.name);
    if (bad) return err(bad);
    return this.run('create', input.id, () => {
      if (this.stmt.getSession.get([input.id]) !== undefined) {
        return err(problem(ErrorCode.bad_request, `session ${input.id} already exists`));
      }
      const t = this.now();
      this.stmt.insertSession.run([input.id, input.name, t, t]);
      return ok({ id: input.id, name: input.name, createdAt: t, updatedAt: t });
    });
  }

  async listSessions(): Promise<Result<SessionRecord[]>> {
    return this.run('list', undefined, () =>
      ok((this.stmt.listSessions.all([]) as SessionRow[]).map(toRecord)),
    );
  }

  async getSession(id: string): Promise<Result<SessionRecord>> {
    const bad = checkSessionId(id);
    if (bad) return err(bad);
    return this.run('get', id, () => {
      const row = this.stmt.getSession.get([id]) as SessionRow | undefined;
      return row ? ok(toRecord(row)) : notFound(id);
    });
  }

  async renameSession(id: string, name: string): Promise<Result<SessionRecord>> {
    const bad = checkSessionId(id) ?? checkSessionName(name);
    if (bad) return err(bad);
    return this.run('rename', id, () => {
      const changed = this.stmt.renameSession.run([name, this.now(), id]).changes;
      if (changed === 0) return notFound(id);
      return ok(toRecord(this.stmt.getSession.get([id]) as SessionRow));
    });
  }

  async deleteSession(id: string): Promise<Result<void>> {
    const bad = checkSessionId(id);
    if (bad) return err(bad);
    return this.run('delete', id, () =>
      this.db.transaction((): Result<void> => {
        if (this.stmt.deleteSession.run([id]).changes === 0) return notFound(id);
        this.stmt.deleteUpdates.run([id]);
        this.stmt.deleteSnapshot.run([id]);
        this.nextSeq.delete(id);
        this.sinceSnapshot.delete(id);
        return ok(undefined);
      })(),
    );
  }

  appendUpdate(sessionId: string, update: Uint8Array): Promise<Result<void>> {
    const bad = checkSessionId(sessionId) ?? checkUpdate(update);
    if (bad) return Promise.resolve(err(bad));
    if (this.closed) return Promise.resolve(err(closedProblem()));
    return new Promise((resolve) => {
      // A copy: the caller may reuse its buffer before the batch commits.
      this.pending.push({
        sessionId,
        update: Uint8Array.from(update),
        startedMs: performance.now(),
        resolve,
      });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async loadUpdates(sessionId: string): Promise<Result<StoredDocument>> {
    const bad = checkSessionId(sessionId);
    if (bad) return err(bad);
    return this.run('load', sessionId, () => {
      if (this.stmt.getSession.get([sessionId]) === undefined) return notFound(sessionId);
      const snap = this.stmt.getSnapshot.get([sessionId]) as
        { upto_seq: number; blob: ArrayBuffer } | undefined;
      const rows = this.stmt.updatesAfter.all([sessionId, snap?.upto_seq ?? -1]) as {
        blob: ArrayBuffer;
      }[];
      return ok({
        snapshot: snap ? new Uint8Array(snap.blob) : null,
        updates: rows.map((r) => new Uint8Array(r.blob)),
      });
    });
  }

  async compact(sessionId: string): Promise<Result<CompactionReport>> {
    const bad = checkSessionId(sessionId);
    if (bad) return err(bad);
    return this.run('compact', sessionId, () => this.compactNow(sessionId));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    // The thread's connection closes first, so this one is the last and checkpoints the WAL.
    await this.maintenance?.close();
    this.db.close();
  }

  /** The thread is gone: SQLite checkpoints inside commits again, and compaction runs here. */
  private maintenanceStopped(): void {
    this.maintenance = null;
    if (this.closed) return;
    try {
      this.db.pragma(`wal_autocheckpoint = ${DEFAULT_WAL_AUTOCHECKPOINT}`);
    } catch (cause) {
      this.log.error({ err: cause }, 'storage failed');
    }
  }

  /**
   * Automatic compaction with the replay on the maintenance thread; this thread only writes the
   * snapshot and deletes the covered updates, in one short transaction, and only if nothing
   * changed the snapshot meanwhile. Without the thread, compacts here.
   */
  private async compactInBackground(sessionId: string): Promise<Result<CompactionReport>> {
    const maintenance = this.maintenance;
    if (maintenance === null) return this.compact(sessionId);
    const replayed = await maintenance.compactState(sessionId);
    if (!replayed.ok) {
      return this.maintenance === null ? this.compact(sessionId) : replayed;
    }
    const { baseSeq, uptoSeq, state, updates } = replayed.value;
    if (state === null) return ok({ updatesCompacted: 0, snapshotBytes: 0 });
    return this.run('compact_write', sessionId, () =>
      this.db
        .transaction((): Result<CompactionReport> => {
          if (this.stmt.getSession.get([sessionId]) === undefined) return notFound(sessionId);
          const snap = this.stmt.getSnapshot.get([sessionId]) as { upto_seq: number } | undefined;
          // Someone compacted meanwhile (an explicit compact()): theirs stands.
          if ((snap?.upto_seq ?? -1) !== baseSeq) {
            return ok({ updatesCompacted: 0, snapshotBytes: 0 });
          }
          this.stmt.upsertSnapshot.run([sessionId, uptoSeq, state]);
          this.stmt.deleteUpdatesUpTo.run([sessionId, uptoSeq]);
          this.sinceSnapshot.set(
            sessionId,
            (this.stmt.countUpdates.get([sessionId]) as { n: number }).n,
          );
          return ok({ updatesCompacted: updates, snapshotBytes: state.byteLength });
        })
        .immediate(),
    );
  }

  /** One transaction: replay snapshot + updates into a Y.Doc, store its state, drop the updates. */
  private compactNow(sessionId: string): Result<CompactionReport> {
    return this.db
      .transaction((): Result<CompactionReport> => {
        if (this.stmt.getSession.get([sessionId]) === undefined) return notFound(sessionId);
        const snap = this.stmt.getSnapshot.get([sessionId]) as
          { upto_seq: number; blob: ArrayBuffer } | undefined;
        const rows = this.stmt.updatesAfter.all([sessionId, snap?.upto_seq ?? -1]) as {
          seq: number;
          blob: ArrayBuffer;
        }[];
        const last = rows.at(-1);
        if (last === undefined) {
          return ok({ updatesCompacted: 0, snapshotBytes: snap?.blob.byteLength ?? 0 });
        }
        // Through a Y.Doc, never Y.mergeUpdates: the doc garbage-collects overwritten values, so
        // the snapshot is the size of the document, not of its history.
        const doc = new Y.Doc();
        let state: Uint8Array;
        try {
          if (snap) Y.applyUpdate(doc, new Uint8Array(snap.blob));
          for (const row of rows) Y.applyUpdate(doc, new Uint8Array(row.blob));
          state = Y.encodeStateAsUpdate(doc);
        } finally {
          doc.destroy();
        }
        this.stmt.upsertSnapshot.run([sessionId, last.seq, state]);
        this.stmt.deleteUpdatesUpTo.run([sessionId, last.seq]);
        this.sinceSnapshot.set(sessionId, 0);
        return ok({ updatesCompacted: rows.length, snapshotBytes: state.byteLength });
      })
      .immediate();
  }

  /** Commits every pending append in one transaction and settles their promises. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const bySession = new Map<string, PendingAppend[]>();
    for (const item of batch) {
      const list = bySession.get(item.sessionId);
      if (list) list.push(item);
      else bySession.set(item.sessionId, [item]);
    }
    let missing: Set<string>;
    const commitStart = performance.now();
    try {
      missing = this.db
        .transaction(() => {
          const gone = new Set<string>();
          const t = this.now();
          for (const [sessionId, items] of bySession) {
            if (this.stmt.touchSession.run([t, sessionId]).changes === 0) {
              gone.add(sessionId);
              continue;
            }
            let seq = this.seqFor(sessionId);
            for (const item of items) this.stmt.insertUpdate.run([sessionId, seq++, item.update]);
            this.nextSeq.set(sessionId, seq);
          }
          return gone;
        })
        .immediate();
    } catch (cause) {
      // The transaction rolled back: nothing of this batch is stored. Forget the cached seqs so
      // the next batch reads them again.
      this.nextSeq.clear();
      this.log.error({ err: cause, appends: batch.length }, 'storage append failed');
      const failure = problem(ErrorCode.storage_failed, 'storing the update failed');
      for (const item of batch) item.resolve(err(failure));
      return;
    }
    const end = performance.now();
    this.metrics.observe(STORAGE_LATENCY_METRIC, { op: 'commit' }, end - commitStart);
    for (const item of batch) {
      this.metrics.observe(STORAGE_LATENCY_METRIC, { op: 'append' }, end - item.startedMs);
      if (missing.has(item.sessionId)) {
        item.resolve(err(problem(ErrorCode.not_found, `session ${item.sessionId} does not exist`)));
      } else item.resolve(ok(undefined));
    }
    for (const [sessionId, items] of bySession) {
      if (!missing.has(sessionId)) this.countAppended(sessionId, items.length);
    }
  }

  private seqFor(sessionId: string): number {
    const known = this.nextSeq.get(sessionId);
    if (known !== undefined) return known;
    const row = this.stmt.maxSeq.get([sessionId, sessionId]) as { m: number | null };
    return (row.m ?? 0) + 1;
  }

  private countAppended(sessionId: string, n: number): void {
    let count = this.sinceSnapshot.get(sessionId);
    if (count === undefined) {
      count = (this.stmt.countUpdates.get([sessionId]) as { n: number }).n;
    } else count += n;
    this.sinceSnapshot.set(sessionId, count);
    if (count < this.compactEvery || this.compactionScheduled.has(sessionId)) return;
    this.compactionScheduled.add(sessionId);
    // Off the append path: the appends that triggered it have already resolved.
    setImmediate(() => {
      if (this.closed) {
        this.compactionScheduled.delete(sessionId);
        return;
      }
      void this.compactInBackground(sessionId).then((r) => {
        this.compactionScheduled.delete(sessionId);
        if (!r.ok && r.error.code !== ErrorCode.not_found && !this.closed) {
          this.log.warn({ session: sessionId, code: r.error.code }, 'automatic compaction failed');
        }
      });
    });
  }

  /** Runs one synchronous database call, timing it and turning a throw into storage_failed. */
  private run<T>(op: string, sessionId: string | undefined, fn: () => Result<T>): Result<T> {
    if (this.closed) return err(closedProblem());
    const start = performance.now();
    try {
      return fn();
    } catch (cause) {
      return failed(this.log, cause, `storage ${op} failed`, { op, session: sessionId });
    } finally {
      this.metrics.observe(STORAGE_LATENCY_METRIC, { op }, performance.now() - start);
    }
  }
}

function toRecord(row: SessionRow): SessionRecord {
  return { id: row.id, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at };
}

function notFound<T>(id: string): Result<T> {
  return err(problem(ErrorCode.not_found, `session ${id} does not exist`));
}

function closedProblem(): Problem {
  return problem(ErrorCode.storage_failed, 'storage is closed');
}

function failed<T>(
  log: Logger,
  cause: unknown,
  message: string,
  data: { op: string; session?: string | undefined },
): Result<T> {
  log.error({ err: cause, ...data }, 'storage failed');
  return err(problem(ErrorCode.storage_failed, message));
}
