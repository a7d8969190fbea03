import { addNode, readPipeline, setParam } from '@patchbay/document';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createUndoManager } from './undo';

function sync(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
}

describe('per-user undo', () => {
  it("undo reverts my edit and keeps another user's concurrent edit", () => {
    const a = new Y.Doc();
    const b = new Y.Doc();
    const originA = {};
    const originB = {};
    const undoA = createUndoManager(a, originA);
    addNode(a, 'g', { kind: 'audio::gain', params: { gain: 1 } }, { origin: 'server' });
    sync(a, b);
    undoA.stopCapturing();
    setParam(a, 'g', 'gain', 2, { origin: originA });
    setParam(b, 'g', 'mute', true, { origin: originB });
    addNode(b, 'h', { kind: 'core::sink', params: {} }, { origin: originB });
    sync(a, b);
    undoA.undo();
    sync(a, b);
    for (const doc of [a, b]) {
      const p = readPipeline(doc);
      expect(p.nodes.g?.params).toEqual({ gain: 1, mute: true });
      expect(p.nodes.h).toBeDefined();
    }
  });

  it('a gesture started with stopCapturing is one undo step, apart from the one before', () => {
    const a = new Y.Doc();
    const origin = {};
    const undo = createUndoManager(a, origin);
    addNode(a, 'g', { kind: 'audio::gain', params: {} }, { origin });
    undo.stopCapturing();
    for (let i = 1; i <= 5; i++) setParam(a, 'g', 'gain', i, { origin });
    undo.undo();
    expect(readPipeline(a).nodes.g?.params).toEqual({});
    undo.undo();
    expect(readPipeline(a).nodes.g).toBeUndefined();
    // Changes the server makes are never on this user's stack.
    addNode(a, 'x', { kind: 'core::sink', params: {} }, { origin: 'server' });
    expect(undo.undoStack).toHaveLength(0);
  });
});
