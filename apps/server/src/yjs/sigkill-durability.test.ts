import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { connectProvider, synced, waitFor } from './testing/test-server';
import { spawnRoomServer } from './testing/spawn-room-server';
import type { RoomServerProcess } from './testing/spawn-room-server';

const SESSION = 'durable';
const EDIT_INTERVAL_MS = 10; // 100 edits/s
/** Edit until the reader has seen this many (a few seconds), then kill. */
const EDITS_SEEN_BEFORE_KILL = 250;

describe('durability across SIGKILL', () => {
  const children: RoomServerProcess[] = [];
  let dataDir = '';
  afterEach(() => {
    for (const c of children.splice(0)) c.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('every update a second client had received is present after the killed server restarts', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'patchbay-sigkill-'));
    const first = await spawnRoomServer({ dataDir, sessions: [SESSION] });
    children.push(first);
    const writer = connectProvider(first.url, SESSION, 'alice');
    const reader = connectProvider(first.url, SESSION, 'bob');
    await Promise.all([synced(writer), synced(reader)]);

    const edits = new Y.Map<number>();
    writer.doc.getMap('nodes').set('osc', edits);
    // What the reader has seen is what the server broadcast (the reader never edits).
    const seen = new Map<string, number>();
    reader.doc.getMap('nodes').observeDeep(() => {
      const node = reader.doc.getMap('nodes').get('osc') as Y.Map<number> | undefined;
      node?.forEach((v, k) => seen.set(k, v));
    });
    let i = 0;
    const editing = setInterval(() => edits.set(`e${i}`, i++), EDIT_INTERVAL_MS);
    await waitFor(() => seen.size >= EDITS_SEEN_BEFORE_KILL, 'edits to flow', 30_000);
    first.child.kill('SIGKILL');
    clearInterval(editing);
    expect(await first.exited).toBe('SIGKILL');
    // Frames already on their way to the reader were broadcast before the kill: let them land.
    await waitFor(() => !reader.wsconnected, 'the reader to notice');
    writer.destroy();
    reader.destroy();

    const second = await spawnRoomServer({ dataDir, sessions: [SESSION] });
    children.push(second);
    const after = connectProvider(second.url, SESSION, 'admin');
    await synced(after);
    const restored = (after.doc.getMap('nodes').get('osc') as Y.Map<number> | undefined)?.toJSON();
    const missing = [...seen].filter(([k, v]) => restored?.[k] !== v);
    expect(missing).toEqual([]);
    after.destroy();
    second.child.kill('SIGTERM');
    await second.exited;
  }, 60_000);
});
