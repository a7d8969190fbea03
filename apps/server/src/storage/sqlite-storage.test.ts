import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'libsql';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { silentLogger } from '@patchbay/engine';
import { recordingMetrics } from '../yjs/testing/recording-metrics';
import {
  SQLITE_FILE_NAME,
  STORAGE_LATENCY_METRIC,
  SqliteStorage,
  openSqliteStorage,
} from './sqlite-storage';
import { SqliteThreadStorage } from './sqlite-thread-storage';
import type { Storage } from './storage';
import { describeStorageContract, replay } from './storage-contract';

/** This folder (the test runs `testing/append-and-close.ts` as its own process). */
const HERE = dirname(fileURLToPath(import.meta.url));

function openIn(
  dataDir: string,
  extra: { compactEvery?: number; maintenanceThread?: boolean; thread?: boolean } = {},
): Storage {
  const r = openSqliteStorage({
    dataDir,
    logger: silentLogger,
    metrics: recordingMetrics(),
    ...extra,
  });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

for (const thread of [true, false]) {
  describeStorageContract(
    thread ? 'sqlite on its own thread' : 'sqlite on the caller’s thread',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'patchbay-storage-'));
      let storage = openIn(dir, { thread });
      return {
        get storage() {
          return storage;
        },
        reopen: async () => {
          await storage.close();
          storage = openIn(dir, { thread });
          return storage;
        },
        cleanup: async () => {
          await storage.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    { durable: true },
  );
}

describe('SQLite storage', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'patchbay-storage-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function paramUpdates(n: number): Uint8Array[] {
    const doc = new Y.Doc();
    const out: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => out.push(u));
    const params = doc.getMap('nodes').set('osc', new Y.Map<unknown>());
    for (let i = 0; i < n; i++) params.set('frequency_hz', 100 + i);
    return out;
  }

  it('keeps its file in WAL mode with the three tables', async () => {
    const dir = tempDir();
    const s = openIn(dir);
    await s.close();
    const db = new Database(join(dir, SQLITE_FILE_NAME));
    expect(db.prepare('PRAGMA journal_mode').get([])).toMatchObject({ journal_mode: 'wal' });
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all([]) as {
        name: string;
      }[]
    ).map((t) => t.name);
    expect(tables).toEqual(['sessions', 'snapshots', 'updates']);
    db.close();
  });

  /** Polls until a snapshot exists and fewer than `below` updates follow it. */
  async function compacted(s: Storage, below: number) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const loaded = await s.loadUpdates('a');
      if (!loaded.ok) throw new Error(loaded.error.message);
      if (loaded.value.snapshot !== null && loaded.value.updates.length < below) {
        return loaded.value;
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for compaction');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  for (const maintenanceThread of [true, false]) {
    it(`compacts automatically once a session has accumulated compactEvery updates (${maintenanceThread ? 'replayed on the maintenance thread' : 'on its own connection'})`, async () => {
      const dir = tempDir();
      const s = openIn(dir, { compactEvery: 20, maintenanceThread });
      await s.createSession({ id: 'a', name: 'A' });
      const updates = paramUpdates(45);
      for (const u of updates) await s.appendUpdate('a', u);
      // Compaction runs off the append path, after the appends resolved.
      const doc = replay(await compacted(s, 20));
      expect(doc.getMap('nodes').toJSON()).toEqual({ osc: { frequency_hz: 144 } });
      await s.close();
      const reopened = openIn(dir);
      const again = await reopened.loadUpdates('a');
      expect(again.ok && replay(again.value).getMap('nodes').toJSON()).toEqual({
        osc: { frequency_hz: 144 },
      });
      await reopened.close();
    });
  }

  it('checkpoints the WAL on the maintenance thread: another connection finds every frame already copied', async () => {
    const dir = tempDir();
    const metrics = recordingMetrics();
    const r = openSqliteStorage({ dataDir: dir, logger: silentLogger, metrics });
    if (!r.ok) throw new Error(r.error.message);
    const s = r.value;
    await s.createSession({ id: 'a', name: 'A' });
    await Promise.all(paramUpdates(300).map((u) => s.appendUpdate('a', u)));
    const checkpoints = () =>
      metrics.observations.filter(
        (o) => o.name === STORAGE_LATENCY_METRIC && o.labels.op === 'checkpoint_passive',
      ).length;
    const deadline = Date.now() + 10_000;
    while (checkpoints() === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(checkpoints()).toBeGreaterThan(0);
    // Another connection finds every WAL frame already copied into the database.
    const other = new Database(join(dir, SQLITE_FILE_NAME));
    const row = other.prepare('PRAGMA wal_checkpoint(PASSIVE)').get([]) as {
      log: number;
      checkpointed: number;
    };
    other.close();
    expect(row.log).toBeGreaterThan(0);
    expect(row.checkpointed).toBe(row.log);
    await s.close();
  });

  it('a crashed maintenance thread is logged with storage_failed and loses nothing: appends, loads and compaction go on', async () => {
    const dir = tempDir();
    const logged: { code?: unknown; msg: string }[] = [];
    const logger = {
      ...silentLogger,
      error: (data: { code?: unknown }, msg: string) => logged.push({ ...data, msg }),
      child: () => logger,
    };
    const r = openSqliteStorage({
      dataDir: dir,
      logger,
      metrics: recordingMetrics(),
      compactEvery: 20,
      thread: false,
    });
    if (!r.ok) throw new Error(r.error.message);
    const s = r.value;
    if (!(s instanceof SqliteStorage)) throw new Error('expected the SQLite storage');
    await s.createSession({ id: 'a', name: 'A' });
    const updates = paramUpdates(60);
    for (const u of updates.slice(0, 10)) expect((await s.appendUpdate('a', u)).ok).toBe(true);
    const thread = s.maintenance;
    expect(thread?.running).toBe(true);
    thread?.crashForTest();
    const deadline = Date.now() + 10_000;
    while (s.maintenance !== null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(s.maintenance).toBeNull();
    expect(logged).toContainEqual(
      expect.objectContaining({
        code: 'storage_failed',
        msg: 'storage maintenance thread stopped',
      }),
    );
    for (const u of updates.slice(10)) expect((await s.appendUpdate('a', u)).ok).toBe(true);
    // Compaction falls back to the storage's own connection.
    const doc = replay(await compacted(s, 20));
    expect(doc.getMap('nodes').toJSON()).toEqual({ osc: { frequency_hz: 159 } });
    await s.close();
    const reopened = openIn(dir);
    const again = await reopened.loadUpdates('a');
    expect(again.ok && replay(again.value).getMap('nodes').toJSON()).toEqual({
      osc: { frequency_hz: 159 },
    });
    await reopened.close();
  });

  it('an append resolves only once the storage thread has committed it: another connection reads it at once', async () => {
    const dir = tempDir();
    const s = openIn(dir, { thread: true });
    expect(s).toBeInstanceOf(SqliteThreadStorage);
    await s.createSession({ id: 'a', name: 'A' });
    const reader = new Database(join(dir, SQLITE_FILE_NAME));
    const count = reader.prepare('SELECT count(*) AS n FROM updates WHERE session_id = ?');
    const updates = paramUpdates(30);
    for (const [i, u] of updates.entries()) {
      expect((await s.appendUpdate('a', u)).ok).toBe(true);
      expect((count.get(['a']) as { n: number }).n).toBe(i + 1);
    }
    reader.close();
    await s.close();
  });

  it('a crashed storage thread: calls in flight fail with storage_failed, it is logged with that code, the next call starts a new thread, nothing acknowledged is lost', async () => {
    const dir = tempDir();
    const logged: { code?: unknown; msg: string }[] = [];
    const logger = {
      ...silentLogger,
      error: (data: { code?: unknown }, msg: string) => logged.push({ ...data, msg }),
      child: () => logger,
    };
    const r = openSqliteStorage({
      dataDir: dir,
      logger,
      metrics: recordingMetrics(),
      thread: true,
    });
    if (!r.ok) throw new Error(r.error.message);
    const s = r.value;
    if (!(s instanceof SqliteThreadStorage)) throw new Error('expected the thread storage');
    await s.createSession({ id: 'a', name: 'A' });
    const updates = paramUpdates(40);
    for (const u of updates.slice(0, 20)) expect((await s.appendUpdate('a', u)).ok).toBe(true);
    s.crashForTest();
    // Sent after the crash request: the thread dies before answering it.
    const inFlight = await s.appendUpdate('a', updates[20] as Uint8Array);
    expect(!inFlight.ok && inFlight.error.code).toBe('storage_failed');
    expect(logged).toContainEqual(
      expect.objectContaining({ code: 'storage_failed', msg: 'storage thread stopped' }),
    );
    expect(s.started).toBe(1);
    // The next calls run on a new thread; the refused update is appended again, as a room's
    // clients re-send it when they resync.
    for (const u of updates.slice(20)) expect((await s.appendUpdate('a', u)).ok).toBe(true);
    expect(s.started).toBe(2);
    const loaded = await s.loadUpdates('a');
    expect(loaded.ok && replay(loaded.value).getMap('nodes').toJSON()).toEqual({
      osc: { frequency_hz: 139 },
    });
    await s.close();
  });

  it('a snapshot of many overwrites of one param is the size of the document, not its history', async () => {
    const dir = tempDir();
    const s = openIn(dir);
    await s.createSession({ id: 'a', name: 'A' });
    const updates = paramUpdates(2000);
    await Promise.all(updates.map((u) => s.appendUpdate('a', u)));
    const history = updates.reduce((n, u) => n + u.byteLength, 0);
    const report = await s.compact('a');
    expect(report.ok && report.value.updatesCompacted).toBe(updates.length);
    expect(report.ok && report.value.snapshotBytes).toBeLessThan(history / 100);
    await s.close();
  });

  it('a corrupt stored update makes compaction fail with storage_failed and changes nothing', async () => {
    const dir = tempDir();
    const s = openIn(dir);
    await s.createSession({ id: 'a', name: 'A' });
    for (const u of paramUpdates(5)) await s.appendUpdate('a', u);
    // Bytes that are not a Yjs update, stored as if they were (storage does not parse appends).
    await s.appendUpdate('a', new Uint8Array([9, 9, 9, 9, 9, 9, 9]));
    const before = await s.loadUpdates('a');
    const report = await s.compact('a');
    expect(!report.ok && report.error.code).toBe('storage_failed');
    const after = await s.loadUpdates('a');
    expect(after).toEqual(before);
    await s.close();
  });

  it('reports storage latency through ServerMetrics.observe', async () => {
    const dir = tempDir();
    const metrics = recordingMetrics();
    const r = openSqliteStorage({ dataDir: dir, logger: silentLogger, metrics });
    if (!r.ok) throw new Error(r.error.message);
    await r.value.createSession({ id: 'a', name: 'A' });
    await r.value.appendUpdate('a', paramUpdates(1)[0] as Uint8Array);
    await r.value.loadUpdates('a');
    const ops = metrics.observations
      .filter((o) => o.name === STORAGE_LATENCY_METRIC)
      .map((o) => o.labels.op);
    expect(ops).toEqual(expect.arrayContaining(['create', 'append', 'load']));
    await r.value.close();
  });

  it('a data dir that does not exist fails to open with storage_failed', () => {
    const r = openSqliteStorage({
      dataDir: join(tempDir(), 'missing', 'deeper'),
      logger: silentLogger,
      metrics: recordingMetrics(),
    });
    expect(!r.ok && r.error.code).toBe('storage_failed');
  });

  it('a file that is not a database fails to open with storage_failed and is left as it was', async () => {
    const dir = tempDir();
    const { writeFileSync, readFileSync } = await import('node:fs');
    const path = join(dir, SQLITE_FILE_NAME);
    writeFileSync(path, 'this is not sqlite, '.repeat(300));
    const r = openSqliteStorage({
      dataDir: dir,
      logger: silentLogger,
      metrics: recordingMetrics(),
    });
    expect(!r.ok && r.error.code).toBe('storage_failed');
    expect(readFileSync(path, 'utf8')).toBe('this is not sqlite, '.repeat(300));
  });

  it.each([false, true])(
    'closing in a process with nothing else to do returns once the maintenance thread has exited, with compactions in flight (storage thread: %s)',
    async (thread) => {
      const dir = tempDir();
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          '--import',
          'tsx',
          join(HERE, 'testing', 'append-and-close.ts'),
          '--data-dir',
          dir,
          '--updates',
          '1000',
          ...(thread ? ['--thread'] : []),
        ],
        { cwd: resolve(HERE, '..', '..') },
      );
      expect(stdout).toBe('closed\n');
    },
    30_000,
  );
});
