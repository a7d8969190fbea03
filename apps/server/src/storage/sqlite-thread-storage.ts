/**
 * The SQLite storage on its own thread: every call goes to a `worker_threads` Worker that runs
 * the same SqliteStorage (sqlite-storage-thread.ts), so no commit, query or fsync ever blocks
 * the server's event loop. `appendUpdate` still resolves only after the thread has committed
 * the update, so "durable before broadcast" holds as before.
 *
 * If the thread dies, every call in flight resolves to `storage_failed` (a failed append is
 * never broadcast: the room drops and its clients resync), the death is logged with that code,
 * and the next call starts a new thread on the same file. What was acknowledged was committed
 * before the acknowledgement, so nothing acknowledged is lost.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, err, problem } from '@patchbay/protocol';
import type { Problem, Result } from '@patchbay/protocol';
import type { Logger } from '@patchbay/engine';
import type { ServerMetrics } from '../host/server-context';
import { checkSessionId, checkSessionName, checkUpdate } from './storage';
import type { CompactionReport, SessionRecord, Storage, StoredDocument } from './storage';

const ENTRY_URL = new URL('./sqlite-storage-thread-entry.mjs', import.meta.url);

/** What crosses to the thread: the options without the logger, metrics and clock. */
export interface ThreadOptions {
  readonly dataDir: string;
  readonly synchronous?: 'NORMAL' | 'FULL';
  readonly compactEvery?: number;
  readonly maintenanceThread?: boolean;
}

/** Messages from the thread. */
export type ThreadMessage =
  | { readonly type: 'result'; readonly id: number; readonly result: Result<unknown> }
  | {
      readonly type: 'observe';
      readonly name: string;
      readonly labels: Record<string, string>;
      readonly value: number;
    }
  | {
      readonly type: 'log';
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly data: Record<string, unknown>;
      readonly msg: string;
    }
  | { readonly type: 'closed' };

/** Messages to the thread. */
export type ThreadRequest =
  | {
      readonly type: 'call';
      readonly id: number;
      readonly method: Exclude<keyof Storage, 'close'>;
      readonly args: unknown[];
    }
  | { readonly type: 'close' }
  | { readonly type: 'crash' };

export class SqliteThreadStorage implements Storage {
  readonly #log: Logger;
  readonly #metrics: ServerMetrics;
  readonly #options: ThreadOptions;
  #worker: Worker | null = null;
  readonly #pending = new Map<number, (r: Result<unknown>) => void>();
  #nextId = 1;
  #closed = false;
  /** Threads started so far (tests see a restart). */
  started = 0;

  /** The options of openSqliteStorage (sqlite-storage.ts) that can cross to a thread. */
  constructor(
    options: ThreadOptions & { readonly logger: Logger; readonly metrics: ServerMetrics },
  ) {
    this.#log = options.logger.child({ mod: 'storage' });
    this.#metrics = options.metrics;
    this.#options = {
      dataDir: options.dataDir,
      ...(options.synchronous !== undefined && { synchronous: options.synchronous }),
      ...(options.compactEvery !== undefined && { compactEvery: options.compactEvery }),
      ...(options.maintenanceThread !== undefined && {
        maintenanceThread: options.maintenanceThread,
      }),
    };
    this.#start();
  }

  createSession(input: { id: string; name: string }): Promise<Result<SessionRecord>> {
    const bad = checkSessionId(input.id) ?? checkSessionName(input.name);
    if (bad) return Promise.resolve(err(bad));
    return this.#call('createSession', [{ id: input.id, name: input.name }]);
  }

  listSessions(): Promise<Result<SessionRecord[]>> {
    return this.#call('listSessions', []);
  }

  getSession(id: string): Promise<Result<SessionRecord>> {
    const bad = checkSessionId(id);
    if (bad) return Promise.resolve(err(bad));
    return this.#call('getSession', [id]);
  }

  renameSession(id: string, name: string): Promise<Result<SessionRecord>> {
    const bad = checkSessionId(id) ?? checkSessionName(name);
    if (bad) return Promise.resolve(err(bad));
    return this.#call('renameSession', [id, name]);
  }

  deleteSession(id: string): Promise<Result<void>> {
    const bad = checkSessionId(id);
    if (bad) return Promise.resolve(err(bad));
    return this.#call('deleteSession', [id]);
  }

  appendUpdate(sessionId: string, update: Uint8Array): Promise<Result<void>> {
    const bad = checkSessionId(sessionId) ?? checkUpdate(update);
    if (bad) return Promise.resolve(err(bad));
    // A copy the thread owns: the caller may reuse its buffer.
    const copy = update.slice();
    return this.#call('appendUpdate', [sessionId, copy], [copy.buffer as ArrayBuffer]);
  }

  loadUpdates(sessionId: string): Promise<Result<StoredDocument>> {
    const bad = checkSessionId(sessionId);
    if (bad) return Promise.resolve(err(bad));
    return this.#call('loadUpdates', [sessionId]);
  }

  compact(sessionId: string): Promise<Result<CompactionReport>> {
    const bad = checkSessionId(sessionId);
    if (bad) return Promise.resolve(err(bad));
    return this.#call('compact', [sessionId]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const worker = this.#worker;
    if (worker === null) return;
    // Calls already sent are answered first: the thread handles messages in order.
    const closed = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ThreadRequest);
    await closed;
  }

  /** Makes the thread throw, as a crash would (tests). */
  crashForTest(): void {
    this.#worker?.postMessage({ type: 'crash' } satisfies ThreadRequest);
  }

  #call<T>(
    method: Exclude<keyof Storage, 'close'>,
    args: unknown[],
    transfer: ArrayBuffer[] = [],
  ): Promise<Result<T>> {
    if (this.#closed) {
      return Promise.resolve(err(problem(ErrorCode.storage_failed, 'storage is closed')));
    }
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve as (r: Result<unknown>) => void);
      worker.postMessage({ type: 'call', id, method, args } satisfies ThreadRequest, transfer);
    });
  }

  #start(): Worker {
    const worker = new Worker(ENTRY_URL, { workerData: this.#options });
    this.#worker = worker;
    this.started++;
    worker.on('message', (m: ThreadMessage) => this.#onMessage(m));
    worker.on('error', (cause) => this.#stopped(worker, cause));
    worker.on('exit', (code) => this.#stopped(worker, new Error(`exited with code ${code}`)));
    return worker;
  }

  #onMessage(m: ThreadMessage): void {
    switch (m.type) {
      case 'result': {
        const resolve = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        resolve?.(m.result);
        return;
      }
      case 'observe':
        this.#metrics.observe(m.name, m.labels, m.value);
        return;
      case 'log':
        this.#log[m.level](m.data, m.msg);
        return;
      case 'closed':
        return;
    }
  }

  #stopped(worker: Worker, cause: unknown): void {
    if (this.#worker !== worker) return;
    this.#worker = null;
    if (this.#closed && this.#pending.size === 0) return;
    const stopped: Problem = problem(ErrorCode.storage_failed, 'the storage thread stopped');
    this.#log.error({ err: cause, code: stopped.code }, 'storage thread stopped');
    for (const resolve of this.#pending.values()) resolve(err(stopped));
    this.#pending.clear();
  }
}
