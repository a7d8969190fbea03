import { documentMaps } from '@patchbay/document';
import * as Y from 'yjs';

/** Edits closer together than this merge into one undo step (a gesture is stopped explicitly). */
export const UNDO_CAPTURE_MS = 500;

/**
 * This tab's undo manager: it tracks only transactions made with `origin`, so an undo reverts
 * this user's own edits and never someone else's (or the server's).
 */
export function createUndoManager(doc: Y.Doc, origin: object): Y.UndoManager {
  const { nodes, connections, meta } = documentMaps(doc);
  return new Y.UndoManager([nodes, connections, meta], {
    trackedOrigins: new Set([origin]),
    captureTimeout: UNDO_CAPTURE_MS,
  });
}
