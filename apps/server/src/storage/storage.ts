/**
 * Durable storage of sessions and their Yjs documents. The document is kept as a snapshot plus
 * the updates appended after it; a backend replays both to rebuild it. SQLite is the embedded
 * default (`sqlite-storage.ts`); another backend (e.g. PostgreSQL) implements the same
 * interface and passes the same contract suite (`storage-contract.ts`).
 */
import { ErrorCode, SessionIdSchema, problem } from '@patchbay/protocol';
import type { Problem, Result } from '@patchbay/protocol';

/** The longest session name accepted (the control API allows the same). */
export const MAX_SESSION_NAME_CHARS = 256;

/** A stored session, without its document. Times are epoch milliseconds. */
export interface SessionRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A stored document: replay `snapshot` (when there is one) then `updates` in order. */
export interface StoredDocument {
  readonly snapshot: Uint8Array | null;
  readonly updates: readonly Uint8Array[];
}

/** What one compaction did. */
export interface CompactionReport {
  /** Updates folded into the snapshot and deleted. 0 when there was nothing to fold. */
  readonly updatesCompacted: number;
  readonly snapshotBytes: number;
}

/**
 * Every method resolves to a Result: `not_found` for an unknown session, `bad_request` for a
 * malformed id or name (or an id already taken), `storage_failed` when the backend failed.
 * Nothing stored is changed by a call that fails.
 */
export interface Storage {
  createSession(input: { id: string; name: string }): Promise<Result<SessionRecord>>;
  /** All sessions, oldest first. */
  listSessions(): Promise<Result<SessionRecord[]>>;
  getSession(id: string): Promise<Result<SessionRecord>>;
  renameSession(id: string, name: string): Promise<Result<SessionRecord>>;
  /** Deletes the session with its snapshot and every update. */
  deleteSession(id: string): Promise<Result<void>>;
  /** Resolves only once the update is durable (survives the server process being killed). */
  appendUpdate(sessionId: string, update: Uint8Array): Promise<Result<void>>;
  loadUpdates(sessionId: string): Promise<Result<StoredDocument>>;
  /** Folds the snapshot and every update into one new snapshot, atomically. */
  compact(sessionId: string): Promise<Result<CompactionReport>>;
  /** Waits for pending appends, then releases the backend. Later calls fail with storage_failed. */
  close(): Promise<void>;
}

/** Checks a session id (the protocol's URL-safe shape); a Problem when it is malformed. */
export function checkSessionId(id: unknown): Problem | null {
  const parsed = SessionIdSchema.safeParse(id);
  return parsed.success
    ? null
    : problem(ErrorCode.bad_request, `invalid session id: ${parsed.error.issues[0]?.message}`);
}

/** Checks a session name: a string of at most MAX_SESSION_NAME_CHARS characters. */
export function checkSessionName(name: unknown): Problem | null {
  if (typeof name !== 'string')
    return problem(ErrorCode.bad_request, 'session name must be a string');
  if (name.length > MAX_SESSION_NAME_CHARS) {
    return problem(
      ErrorCode.bad_request,
      `session name is longer than ${MAX_SESSION_NAME_CHARS} characters`,
    );
  }
  return null;
}

/** Checks an update handed to appendUpdate: non-empty bytes. */
export function checkUpdate(update: unknown): Problem | null {
  if (!(update instanceof Uint8Array) || update.byteLength === 0) {
    return problem(ErrorCode.bad_request, 'an update must be non-empty bytes');
  }
  return null;
}
