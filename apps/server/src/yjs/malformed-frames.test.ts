import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { parseFrame } from './wire';
import { createFrameFuzzer } from './testing/fuzz-frames';
import type { FuzzFrame } from './testing/fuzz-frames';
import {
  connectProvider,
  openRawSocket,
  startTestServer,
  synced,
  waitFor,
} from './testing/test-server';
import type { TestServer } from './testing/test-server';

const SESSION = 'fuzzed';
const FRAMES = 10_000;
const PARALLEL_SOCKETS = 64;
const MAX_FRAME_BYTES = 64 * 1024;
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
// A sync step 1 with an empty state vector: a well-formed frame whose answer (a step 2) shows
// the connection survived the frame before it.
const PROBE = Uint8Array.from([0, 0, 1, 0]);
// 1013: a well-formed update that does not follow the document (resync).
const REFUSAL_CODES = new Set([4400, 1003, 1009, 1013]);

type Outcome = { kind: string; closedWith: number | null; frame: FuzzFrame['data'] };

async function sendOne(s: TestServer, fuzz: FuzzFrame): Promise<Outcome> {
  const socket = openRawSocket(s.url, SESSION, 'alice');
  await socket.opened;
  const answered = new Promise<void>((resolve) => {
    socket.ws.on('message', (data: Buffer) => {
      if (data[0] === 0 && data[1] === 1) resolve();
    });
  });
  socket.ws.send(fuzz.data);
  socket.ws.send(PROBE);
  const result = await Promise.race([socket.closed.then((c) => c.code), answered.then(() => null)]);
  socket.ws.terminate();
  return { kind: fuzz.kind, closedWith: result, frame: fuzz.data };
}

describe(`malformed frames (seed ${SEED}; rerun with FUZZ_SEED)`, () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ sessions: [SESSION], maxFrameBytes: MAX_FRAME_BYTES });
  });
  afterAll(async () => {
    await s.close();
  });

  it('10,000 malformed frames close only their own connection and never touch the document; an honest client is unaffected', async () => {
    const honest = connectProvider(s.url, SESSION, 'bob');
    await synced(honest);
    const watcher = connectProvider(s.url, SESSION, 'admin');
    await synced(watcher);
    const node = new Y.Map<unknown>();
    honest.doc.getMap('nodes').set('gain', node);

    let edits = 0;
    const editing = setInterval(() => node.set(`p${edits % 20}`, edits++), 20);
    const next = createFrameFuzzer(SEED, MAX_FRAME_BYTES + 1);
    const outcomes: Outcome[] = [];
    let sent = 0;
    await Promise.all(
      Array.from({ length: PARALLEL_SOCKETS }, async () => {
        while (sent < FRAMES) {
          sent++;
          outcomes.push(await sendOne(s, next()));
        }
      }),
    );
    clearInterval(editing);

    // Every frame either closed its connection with a refusal code, or was well-formed after
    // all (random bytes can spell a harmless message) and the connection answered the probe.
    const wrong = outcomes.filter((o) => {
      if (o.closedWith === null) {
        return typeof o.frame === 'string' || !parseFrame(o.frame).ok;
      }
      return !REFUSAL_CODES.has(o.closedWith);
    });
    expect(wrong.slice(0, 5).map((o) => [o.kind, o.closedWith])).toEqual([]);
    expect(outcomes.length).toBe(FRAMES);
    const refused = outcomes.filter((o) => o.closedWith !== null).length;
    expect(refused).toBeGreaterThan(FRAMES * 0.95);

    // The honest client kept editing through it all, and the document is exactly its edits.
    const expected = honest.doc.getMap('nodes').toJSON();
    expect(Object.keys((expected as { gain: object }).gain).length).toBe(Math.min(edits, 20));
    await waitFor(
      () => isDeepStrictEqual(watcher.doc.getMap('nodes').toJSON(), expected),
      'the watcher to converge',
    );
    const ref = await s.rooms.acquire(SESSION);
    if (!ref.ok) throw new Error(ref.error.message);
    await ref.value.flushed();
    expect(ref.value.doc.getMap('nodes').toJSON()).toEqual(expected);
    expect([...ref.value.doc.share.keys()].sort()).toEqual(['nodes']);
    ref.value.release();
    await waitFor(() => s.rooms.stats().connections === 2, 'the fuzz sockets to be gone');
    expect(honest.wsconnected && watcher.wsconnected).toBe(true);
    honest.destroy();
    watcher.destroy();
  }, 300_000);
});
