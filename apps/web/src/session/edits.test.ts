import { addNode, documentMaps, readPipeline, stampsOfEvents } from '@patchbay/document';
import { ClientStamper, EDIT_STAMPS_KEY, applyEditStamp, stampViewData } from '@patchbay/protocol';
import type { EditStamp, VersionVector } from '@patchbay/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { writeParams } from './edits';

let n = 0;
const uuid = (): string => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

function client() {
  const doc = new Y.Doc();
  return { doc, origin: {}, stamper: new ClientStamper(uuid) };
}

describe('stamped param edits', () => {
  it('[S2] a compositor edit carries (sender, rev) in the same update as the edit', () => {
    const a = client();
    addNode(a.doc, 'mix', { kind: 'video::compositor', params: {} });
    const server = new Y.Doc();
    Y.applyUpdate(server, Y.encodeStateAsUpdate(a.doc));
    const seen: Array<Map<string, EditStamp>> = [];
    documentMaps(server).nodes.observeDeep((events) => seen.push(stampsOfEvents(events)));
    const updates: Uint8Array[] = [];
    a.doc.on('update', (u: Uint8Array) => updates.push(u));

    writeParams(a, 'mix', [[['layers', 'in_1', 'opacity'], 0.5]]);
    expect(updates).toHaveLength(1);
    Y.applyUpdate(server, updates[0] as Uint8Array);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.get('mix')).toEqual({ sender: a.stamper.nonce, rev: 1 });
    expect(readPipeline(server).nodes.mix?.params).toEqual({ layers: { in_1: { opacity: 0.5 } } });
  });

  it('[S3] the stamp never shows in the durable pipeline', () => {
    const a = client();
    addNode(a.doc, 'mix', { kind: 'video::compositor', params: {} });
    writeParams(a, 'mix', [[['width'], 640]]);
    const node = documentMaps(a.doc).nodes.get('mix') as Y.Map<unknown>;
    expect(node.get(EDIT_STAMPS_KEY)).toBeInstanceOf(Y.Map);
    expect(JSON.stringify(readPipeline(a.doc))).not.toContain('_stamps');
  });

  it('a write to a missing node is refused and does not bump the revision', () => {
    const a = client();
    expect(writeParams(a, 'ghost', [[['x'], 1]])).toBe(false);
    expect(a.stamper.localRevision('ghost')).toBe(0);
  });

  it("[S6] own stale view data is dropped, another sender's progress never is", () => {
    const a = client();
    const b = client();
    addNode(a.doc, 'mix', { kind: 'video::compositor', params: {} });
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
    const s1 = a.stamper.next('mix');
    const s2 = a.stamper.next('mix');
    const sb = b.stamper.next('mix');
    // The server has applied a's first edit and b's edit, not yet a's second.
    let vector: VersionVector = {};
    vector = applyEditStamp(applyEditStamp(vector, s1), sb);
    const stamp = stampViewData(vector, 'edit');
    expect(a.stamper.isStale('mix', stamp)).toBe(true);
    expect(b.stamper.isStale('mix', stamp)).toBe(false);
    // Once a's second edit is in, a accepts it too.
    expect(a.stamper.isStale('mix', stampViewData(applyEditStamp(vector, s2), 'edit'))).toBe(false);
    // [S5] a layout change no edit caused is never dropped.
    expect(a.stamper.isStale('mix', stampViewData({}, 'layout'))).toBe(false);
  });

  it('[S1] a reconnect takes a new nonce and restarts revisions', () => {
    const a = client();
    addNode(a.doc, 'mix', { kind: 'video::compositor', params: {} });
    writeParams(a, 'mix', [[['width'], 1]]);
    const before = a.stamper.nonce;
    a.stamper.reconnect(uuid());
    expect(a.stamper.nonce).not.toBe(before);
    expect(a.stamper.localRevision('mix')).toBe(0);
  });
});
