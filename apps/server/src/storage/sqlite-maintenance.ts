/**
 * The SQLite storage's maintenance thread, seen from the server: WAL checkpoints and the
 * expensive half of compaction run there (sqlite-maintenance-worker.mjs), on a second
 * connection, so neither an fsync nor a replay through a Y.Doc blocks the event loop.
 *
 * Appends never go through it: the server's own connection commits every update before it is
 * broadcast, so a thread that dies loses nothing acknowledged. When the thread stops, the
 * storage is told (`onStopped`) and falls back to checkpoints and compaction on its own
 * connection.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, err, ok, problem } from '@patchbay/protocol';
import type { Problem, Result } from '@patchbay/protocol';
import type { Logger } from '@patchbay/engine';
import type { ServerMetrics } from '../host/server-context';

/** How often the maintenance thread runs a passive WAL checkpoint. */
export const CHECKPOINT_INTERVAL_MS = 500;
/**
 * WAL size (4 KiB frames, so 16 MiB) past which a RESTART checkpoint bounds it, making the
 * writer wait while it runs. Reached only by a room that writes without pause for a while.
 */
export const WAL_RESTART_FRAMES = 4096;
/** How long a connection waits on another's lock before failing (a RESTART checkpoint). */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

const WORKER_URL = new URL('./sqlite-maintenance-worker.mjs', import.meta.url);

export interface MaintenanceOptions {
  /** The database file. */
  readonly path: string;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  /** Summary metric the durations go to, labelled `op`. */
  readonly latencyMetric: string;
  readonly checkpointIntervalMs?: number;
  readonly restartFrames?: number;
  /** Called once if the thread stops without being closed. */
  readonly onStopped: (problem: Problem) => void;
}

/** A session's state replayed up to `uptoSeq`, on top of the snapshot that covered `baseSeq`. */
export interface CompactedState {
  /** The snapshot's `upto_seq` the replay started from; -1 when there was none. */
  readonly baseSeq: number;
  readonly uptoSeq: number;
  /** null when there were no updates after the snapshot. */
  readonly state: Uint8Array | null;
  readonly updates: number;
}

type WorkerMessage =
  | { type: 'checkpointed'; mode: 'passive' | 'restart'; ms: number; log: number }
  | { type: 'checkpoint_failed'; message: string }
  | ({ type: 'compacted'; id: number; ms: number } & CompactedState)
  | { type: 'compact_failed'; id: number; message: string };

/** The running maintenance thread. */
export class SqliteMaintenance {
  readonly #worker: Worker;
  readonly #options: MaintenanceOptions;
  readonly #pending = new Map<number, (r: Result<CompactedState>) => void>();
  #nextId = 1;
  #running = true;
  #closing: Promise<void> | null = null;

  constructor(options: MaintenanceOptions) {
    this.#options = options;
    this.#worker = new Worker(WORKER_URL, {
      workerData: {
        path: options.path,
        checkpointIntervalMs: options.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
        restartFrames: options.restartFrames ?? WAL_RESTART_FRAMES,
        busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS,
      },
    });
    // The thread's interval must not keep a server that is otherwise done alive.
    this.#worker.unref();
    this.#worker.on('message', (m: WorkerMessage) => this.#onMessage(m));
    this.#worker.on('error', (cause) => this.#stopped(cause));
    this.#worker.on('exit', (code) => this.#stopped(new Error(`exited with code ${code}`)));
  }

  /** Whether the thread is up (false once it stopped or was closed). */
  get running(): boolean {
    return this.#running;
  }

  /** Replays a session's snapshot and updates on the thread; storage_failed if it cannot. */
  compactState(sessionId: string): Promise<Result<CompactedState>> {
    if (!this.#running) return Promise.resolve(err(stoppedProblem()));
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#worker.postMessage({ type: 'compact', id, sessionId });
    });
  }

  /** Makes the thread throw, as a crash would (tests of the fallback). */
  crashForTest(): void {
    this.#worker.postMessage({ type: 'crash' });
  }

  /** Stops the thread; its connection closes. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (!this.#running) return;
      this.#running = false;
      const exited = new Promise<void>((r) => this.#worker.once('exit', () => r()));
      // Unref'd while it runs; a process with nothing else left must still wait for the exit
      // (else it ends with this promise pending and the storage's close never returns).
      this.#worker.ref();
      this.#worker.postMessage({ type: 'close' });
      await exited;
      this.#settleAll(err(problem(ErrorCode.storage_failed, 'storage is closed')));
    })();
    return this.#closing;
  }

  #onMessage(m: WorkerMessage): void {
    const { metrics, latencyMetric, log } = this.#options;
    switch (m.type) {
      case 'checkpointed':
        if (m.log > 0) metrics.observe(latencyMetric, { op: `checkpoint_${m.mode}` }, m.ms);
        return;
      case 'checkpoint_failed':
        // A busy database or a full disk: the next interval tries again.
        log.warn({ message: m.message }, 'wal checkpoint failed');
        return;
      case 'compacted': {
        metrics.observe(latencyMetric, { op: 'compact_replay' }, m.ms);
        const { baseSeq, uptoSeq, state, updates } = m;
        this.#settle(m.id, ok({ baseSeq, uptoSeq, state, updates }));
        return;
      }
      case 'compact_failed':
        log.warn({ message: m.message }, 'compaction replay failed');
        this.#settle(m.id, err(problem(ErrorCode.storage_failed, 'compaction failed')));
        return;
    }
  }

  #settle(id: number, result: Result<CompactedState>): void {
    const resolve = this.#pending.get(id);
    this.#pending.delete(id);
    resolve?.(result);
  }

  #settleAll(result: Result<CompactedState>): void {
    for (const resolve of this.#pending.values()) resolve(result);
    this.#pending.clear();
  }

  #stopped(cause: unknown): void {
    if (!this.#running) return;
    this.#running = false;
    const stopped = stoppedProblem();
    this.#options.log.error(
      { err: cause, code: stopped.code },
      'storage maintenance thread stopped',
    );
    this.#settleAll(err(stopped));
    this.#options.onStopped(stopped);
  }
}

function stoppedProblem(): Problem {
  return problem(ErrorCode.storage_failed, 'the storage maintenance thread stopped');
}
