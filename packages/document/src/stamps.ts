/**
 * Edit stamps in the document (behaviours S2, S3).
 *
 * A client stamps a node edit by writing `nonce → rev` into the node's `_stamps` map
 * (protocol's `EDIT_STAMPS_KEY`) in the SAME transaction as the edit, so the stamp reaches the
 * server in the same update and the server reads both from one transaction. Transaction meta
 * cannot do this (it never crosses the wire), and a key written and deleted in one transaction
 * cannot either: Yjs garbage-collects the content before the update is encoded.
 *
 * The server, after reading a stamp, deletes the entry with its own origin (`sweepStamps`), so
 * the stored document keeps no stamp once compacted; `readPipeline`, the JSON and YAML exports
 * never show `_`-prefixed keys at all (S3). A sweep cannot lose a newer stamp: a Yjs map delete
 * removes the entry it saw, and a concurrent write of the same key is a new entry that stays.
 */
import * as Y from 'yjs';
import { EDIT_STAMPS_KEY, EditStampSchema } from '@patchbay/protocol';
import type { EditStamp } from '@patchbay/protocol';
import { documentMaps } from './model';

/**
 * The stamps written in one transaction, per node, read from the events of an `observeDeep`
 * on the `nodes` map. When a sender wrote several, the highest revision is kept.
 */
export function stampsOfEvents(
  events: readonly Y.YEvent<Y.AbstractType<unknown>>[],
): Map<string, EditStamp> {
  const stamps = new Map<string, EditStamp>();
  for (const event of events) {
    const path = event.path;
    if (path.length !== 2 || path[1] !== EDIT_STAMPS_KEY || typeof path[0] !== 'string') continue;
    if (!(event.target instanceof Y.Map)) continue;
    const node = path[0];
    const target = event.target as Y.Map<unknown>;
    for (const [sender, change] of event.changes.keys) {
      if (change.action === 'delete') continue;
      const parsed = EditStampSchema.safeParse({ sender, rev: target.get(sender) });
      if (!parsed.success) continue;
      const prev = stamps.get(node);
      if (!prev || prev.rev < parsed.data.rev) stamps.set(node, parsed.data);
    }
  }
  return stamps;
}

/** Every stamp entry the document holds now, per node (for tests and diagnostics). */
export function storedStamps(doc: Y.Doc): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>();
  for (const [id, node] of documentMaps(doc).nodes) {
    if (!(node instanceof Y.Map)) continue;
    const stamps = node.get(EDIT_STAMPS_KEY);
    if (!(stamps instanceof Y.Map) || stamps.size === 0) continue;
    out.set(id, new Map((stamps as Y.Map<unknown>).entries()));
  }
  return out;
}

/** S3: delete every stamp entry of `nodes` (all nodes when omitted), in one transaction. */
export function sweepStamps(doc: Y.Doc, origin: unknown, nodes?: Iterable<string>): void {
  const map = documentMaps(doc).nodes;
  const ids = nodes === undefined ? [...map.keys()] : [...nodes];
  const targets: Y.Map<unknown>[] = [];
  for (const id of ids) {
    const node = map.get(id);
    if (!(node instanceof Y.Map)) continue;
    const stamps = node.get(EDIT_STAMPS_KEY);
    if (stamps instanceof Y.Map && stamps.size > 0) targets.push(stamps as Y.Map<unknown>);
  }
  if (targets.length === 0) return;
  doc.transact(() => {
    for (const stamps of targets) for (const key of [...stamps.keys()]) stamps.delete(key);
  }, origin);
}
