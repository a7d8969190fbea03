/**
 * Sender/revision stamping over the shared model (behaviours S1–S6): one implementation for the
 * server (which records what it applied and stamps view data) and the web client (which stamps
 * its edits and decides whether incoming view data is stale).
 *
 * The document's params converge by themselves (CRDT); what goes stale is view data the server
 * computes from them. A client compares only its own entry of the view data's version vector
 * against its own revision of the node, so another editor's progress never makes it drop data.
 */
import { z } from 'zod';
import { PatchbayError } from './errors';
import type { EditStamp } from './ops';

/** A UUID v4, the shape of a connection nonce (S1). Case-insensitive; stampers emit lower case. */
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Is `value` a UUID v4 (the format of a connection nonce, S1)? */
export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && UUID_V4.test(value);
}

/** A connection nonce (S1): a UUID v4. */
export const NonceSchema = z.string().regex(UUID_V4, 'a nonce is a UUID v4');

/** S4: per sender nonce, the highest revision of that sender the server has applied to a node. */
export type VersionVector = Readonly<Record<string, number>>;

/** Wire schema of a `VersionVector`. Keys are UUIDs, like `EditStamp.sender`. */
export const VersionVectorSchema = z.record(z.string().uuid(), z.number().int().nonnegative());

/** Why view data was emitted: an applied edit (S4) or a layout change no edit caused (S5). */
export const ViewDataCause = { edit: 'edit', layout: 'layout' } as const;
export type ViewDataCause = (typeof ViewDataCause)[keyof typeof ViewDataCause];
/** Wire schema of a `ViewDataCause`. */
export const ViewDataCauseSchema = z.enum(['edit', 'layout']);

/** The stamp on every view data (S4/S5): the node's version vector and the cause. */
export const ViewStampSchema = z.object({
  vector: VersionVectorSchema,
  cause: ViewDataCauseSchema,
});
export interface ViewStamp {
  readonly vector: VersionVector;
  readonly cause: ViewDataCause;
}

/** The empty version vector: no sender's edit applied yet. */
export const EMPTY_VECTOR: VersionVector = Object.freeze({});

/**
 * Per-node key in the shared document under which clients write their stamps: a nested map
 * `nonce → rev`, so concurrent editors each write their own key (a single `_stamp` value would
 * be last-writer-wins and lose one editor's revision). `_`-prefixed, so S3 strips it.
 */
export const EDIT_STAMPS_KEY = '_stamps';

/** The revision of `sender` recorded in `vector`, 0 when absent. Own keys only. */
export function vectorEntry(vector: VersionVector, sender: string): number {
  // Object.hasOwn: a vector parsed from the wire must not read inherited properties.
  return Object.hasOwn(vector, sender) ? (vector[sender] ?? 0) : 0;
}

/**
 * S4: record an applied edit. Keeps the maximum revision per sender, so stamps applied out of
 * order never move an entry back. An edit without a stamp (a server-side change, a YAML
 * import) returns `vector` unchanged: it never inherits anyone's stamp. Returns the same
 * object when nothing changed.
 */
export function applyEditStamp(vector: VersionVector, stamp: EditStamp | undefined): VersionVector {
  if (stamp === undefined) return vector;
  if (vectorEntry(vector, stamp.sender) >= stamp.rev) return vector;
  return { ...vector, [stamp.sender]: stamp.rev };
}

/** S4: the entry-wise maximum of two vectors (e.g. a node's vector and a document's stamp map). */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  let out = a;
  for (const [sender, rev] of Object.entries(b)) out = applyEditStamp(out, { sender, rev });
  return out;
}

/**
 * Drop a sender's entry, e.g. when its connection closed: its nonce is never used again (S1),
 * so nobody will compare against the entry and the vector stays bounded.
 */
export function forgetSender(vector: VersionVector, sender: string): VersionVector {
  if (!Object.hasOwn(vector, sender)) return vector;
  const { [sender]: _dropped, ...rest } = vector;
  return rest;
}

/** S4/S5: the stamp for view data computed from a node whose applied edits are `vector`. */
export function stampViewData(vector: VersionVector, cause: ViewDataCause): ViewStamp {
  return { vector, cause };
}

/**
 * S6: should the client with nonce `myNonce`, whose local revision of the node is `localRev`,
 * drop view data stamped `stamp`? Only when it was caused by an edit and does not yet contain
 * the client's own latest edit. Never because of another sender's entry; never for layout
 * changes (S5).
 */
export function isStaleForClient(stamp: ViewStamp, myNonce: string, localRev: number): boolean {
  if (stamp.cause !== 'edit') return false;
  return vectorEntry(stamp.vector, myNonce) < localRev;
}

/**
 * S1/S2: a client connection's stamping state: its nonce (new on every (re)connect) and its
 * per-node revision counters (restarted with the nonce).
 */
export class ClientStamper {
  readonly #randomUuid: () => string;
  readonly #used = new Set<string>();
  readonly #revs = new Map<string, number>();
  #nonce: string;

  /** `randomUuid` is the nonce source (e.g. `() => crypto.randomUUID()`), injected: protocol has no `crypto`. */
  constructor(randomUuid: () => string) {
    this.#randomUuid = randomUuid;
    this.#nonce = this.#take(randomUuid());
  }

  /** This connection's nonce (lower-case UUID v4). */
  get nonce(): string {
    return this.#nonce;
  }

  /**
   * S1: a new connection. Takes `nonce` or draws one from the source, and restarts every
   * counter. Reusing a nonce is a bug and throws: the server's entry for it would already be
   * ahead of the restarted counters, so stale view data would be applied.
   */
  reconnect(nonce?: string): string {
    this.#nonce = this.#take(nonce ?? this.#randomUuid());
    this.#revs.clear();
    return this.#nonce;
  }

  /**
   * S2: bump `nodeId`'s revision and return the stamp to write in the same transaction as the
   * edit. Call it only for an edit that is committed: a bump without an edit leaves the
   * client ahead of every view data for that node until its next edit is applied.
   */
  next(nodeId: string): EditStamp {
    const rev = (this.#revs.get(nodeId) ?? 0) + 1;
    this.#revs.set(nodeId, rev);
    return { sender: this.#nonce, rev };
  }

  /** This connection's latest revision of `nodeId` (0 before its first edit). */
  localRevision(nodeId: string): number {
    return this.#revs.get(nodeId) ?? 0;
  }

  /** S6 for this connection: should view data of `nodeId` stamped `stamp` be dropped? */
  isStale(nodeId: string, stamp: ViewStamp): boolean {
    return isStaleForClient(stamp, this.#nonce, this.localRevision(nodeId));
  }

  #take(candidate: string): string {
    if (!isNonce(candidate)) {
      throw new PatchbayError('internal', `nonce source returned a non-UUID-v4 value`);
    }
    const nonce = candidate.toLowerCase();
    if (this.#used.has(nonce)) {
      throw new PatchbayError('internal', 'nonce reused: every (re)connect needs a new nonce (S1)');
    }
    this.#used.add(nonce);
    return nonce;
  }
}
