/**
 * Storage rate: sustained acknowledged document updates per second through the server's SQLite
 * storage (WAL, synchronous NORMAL, group commit per event-loop turn, compaction every 500
 * updates as in production). 10 sessions write concurrently for 10 s; each keeps 4 appends in
 * flight, as a room does when several clients edit at once. An update is a real Yjs update: one
 * param edit on a 20-node pipeline document. It counts only once its append resolved ok.
 * Target ≥ 2,000 updates/s; also p50/p99 append latency.
 *
 * The storage module is imported by path at run time (a benchmark does not import an app at
 * compile time).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { silentLogger } from '@patchbay/engine';
import type { Logger, MetricsSink } from '@patchbay/engine';

const SESSIONS = 10;
const IN_FLIGHT_PER_SESSION = 4;
const DURATION_MS = Number(process.env.STORAGE_RATE_SECONDS ?? 10) * 1000;
const TARGET_PER_S = 2000;

type Outcome = { ok: true } | { ok: false; error: { code: string; message: string } };

interface StorageModule {
  openSqliteStorage(options: {
    dataDir: string;
    logger: Logger;
    metrics: MetricsSink & { observe(name: string, labels: object, value: number): void };
  }):
    | {
        ok: true;
        value: {
          createSession(input: { id: string; name: string }): Promise<Outcome>;
          appendUpdate(sessionId: string, update: Uint8Array): Promise<Outcome>;
          close(): Promise<void>;
        };
      }
    | { ok: false; error: { message: string } };
}

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { openSqliteStorage } = (await import(
  join(repo, 'apps/server/src/storage/sqlite-storage.ts')
)) as StorageModule;

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-storage-rate-'));
const opened = openSqliteStorage({
  dataDir,
  logger: silentLogger,
  metrics: { setGauge() {}, incCounter() {}, observe() {} },
});
if (!opened.ok) throw new Error(opened.error.message);
const storage = opened.value;

/** A session's document: a 20-node pipeline; each edit yields one small Yjs update. */
function pipelineDoc(): { doc: Y.Doc; edit: (n: number) => Uint8Array; initial: Uint8Array } {
  const doc = new Y.Doc();
  const nodes = doc.getMap<Y.Map<number>>('nodes');
  doc.transact(() => {
    for (let n = 0; n < 20; n++) {
      const params = new Y.Map<number>();
      nodes.set(`node${n}`, params);
      for (let k = 0; k < 8; k++) params.set(`param${k}`, k);
    }
  });
  const initial = Y.encodeStateAsUpdate(doc);
  const edit = (n: number) => {
    const before = Y.encodeStateVector(doc);
    nodes.get(`node${n % 20}`)?.set(`param${n % 8}`, n);
    return Y.encodeStateAsUpdate(doc, before);
  };
  return { doc, edit, initial };
}

const latencies: number[] = [];
let acknowledged = 0;
let failed = 0;
let bytes = 0;
const ids = Array.from({ length: SESSIONS }, (_, i) => `rate-${i}`);
for (const id of ids) {
  const r = await storage.createSession({ id, name: id });
  if (!r.ok) throw new Error(r.error.message);
}

const start = performance.now();
const end = start + DURATION_MS;
await Promise.all(
  ids.map(async (id) => {
    const { edit, initial } = pipelineDoc();
    await storage.appendUpdate(id, initial);
    let n = 0;
    // A session's edits are produced in order; several are in flight at once.
    const lane = async () => {
      while (performance.now() < end) {
        const update = edit(n++);
        const t0 = performance.now();
        const r = await storage.appendUpdate(id, update);
        const t1 = performance.now();
        if (t1 > end) break;
        if (r.ok) {
          acknowledged++;
          bytes += update.byteLength;
          latencies.push(t1 - t0);
        } else failed++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT_PER_SESSION }, lane));
  }),
);
const elapsedMs = performance.now() - start;
await storage.close();
rmSync(dataDir, { recursive: true, force: true });

const sorted = Float64Array.from(latencies).sort();
console.log(
  JSON.stringify({
    bench: 'storage-rate',
    sessions: SESSIONS,
    in_flight_per_session: IN_FLIGHT_PER_SESSION,
    duration_s: round(elapsedMs / 1000, 1),
    acknowledged,
    failed,
    updates_per_s: round(acknowledged / (elapsedMs / 1000), 0),
    target_updates_per_s: TARGET_PER_S,
    mean_update_bytes: round(bytes / Math.max(1, acknowledged), 1),
    append_p50_ms: round(percentile(sorted, 50), 3),
    append_p99_ms: round(percentile(sorted, 99), 3),
    append_max_ms: round(sorted.at(-1) ?? Number.NaN, 3),
    synchronous: 'NORMAL',
    loadavg_1m: round(loadavg()[0] ?? Number.NaN, 1),
    node: process.version,
  }),
);
process.exit(0);
