/**
 * This tab's edits of the shared document: every one in a transaction with this tab's origin
 * (so only its own undo manager undoes it), param edits stamped with `(sender, rev)` in the
 * same transaction (S2).
 */
import { nodeKind, setParams } from '@patchbay/document';
import type { SessionConnection } from './session-connection';

/**
 * Write params of `node` as one stamped gesture step. The revision is bumped only when the node
 * exists, so a refused write never leaves this tab ahead of every later view data.
 */
export function writeParams(
  conn: Pick<SessionConnection, 'doc' | 'origin' | 'stamper'>,
  node: string,
  entries: ReadonlyArray<readonly [readonly string[], unknown]>,
): boolean {
  if (entries.length === 0 || nodeKind(conn.doc, node) === undefined) return false;
  return setParams(conn.doc, node, entries, {
    origin: conn.origin,
    stamp: conn.stamper.next(node),
  });
}
