import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { createFrameFuzzer } from './testing/fuzz-frames';
import { encodeSyncStep1, encodeUpdate, MAX_AWARENESS_NESTING_DEPTH, parseFrame } from './wire';

describe('y-websocket frames', () => {
  it('reads the frames the stock client sends', () => {
    const doc = new Y.Doc();
    doc.getMap('nodes').set('a', 1);
    const step1 = parseFrame(encodeSyncStep1(doc));
    expect(step1.ok && step1.value.type).toBe('sync_step1');
    const update = parseFrame(encodeUpdate(Y.encodeStateAsUpdate(doc)));
    expect(update.ok && update.value).toMatchObject({ type: 'sync_update', empty: false });
    const empty = parseFrame(encodeUpdate(Y.encodeStateAsUpdate(new Y.Doc())));
    expect(empty.ok && empty.value).toMatchObject({ type: 'sync_update', empty: true });
    const awareness = new Awareness(doc);
    awareness.setLocalState({ cursor: 1 });
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, encodeAwarenessUpdate(awareness, [doc.clientID]));
    const parsed = parseFrame(encoding.toUint8Array(e));
    expect(parsed.ok && parsed.value).toEqual({
      type: 'awareness',
      entries: [{ clientID: doc.clientID, clock: 1, state: { cursor: 1 } }],
    });
    expect(parseFrame(Uint8Array.from([3]))).toEqual({
      ok: true,
      value: { type: 'query_awareness' },
    });
    awareness.destroy();
  });

  it('refuses an awareness state nested deeper than the limit', () => {
    const deep =
      '{"a":'.repeat(MAX_AWARENESS_NESTING_DEPTH + 1) +
      '1' +
      '}'.repeat(MAX_AWARENESS_NESTING_DEPTH + 1);
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, 1);
    encoding.writeVarUint(inner, 7);
    encoding.writeVarUint(inner, 1);
    encoding.writeVarString(inner, deep);
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
    const r = parseFrame(encoding.toUint8Array(e));
    expect(!r.ok && r.error.code).toBe('bad_message');
  });

  it('skips the awareness entries the caller ignores without parsing their states, but still checks their lengths', () => {
    const frame = (entries: [number, number, string][], cut = 0) => {
      const inner = encoding.createEncoder();
      encoding.writeVarUint(inner, entries.length);
      for (const [id, clock, text] of entries) {
        encoding.writeVarUint(inner, id);
        encoding.writeVarUint(inner, clock);
        encoding.writeVarString(inner, text);
      }
      const bytes = encoding.toUint8Array(inner);
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, bytes.subarray(0, bytes.length - cut));
      return encoding.toUint8Array(e);
    };
    const skip = (id: number, clock: number) => id === 1 && clock <= 5;
    // The skipped entry's text is not JSON: it is never parsed.
    const r = parseFrame(
      frame([
        [1, 5, 'not json'],
        [2, 1, '{"cursor":2}'],
        [1, 6, '{"cursor":1}'],
      ]),
      skip,
    );
    expect(r.ok && r.value).toEqual({
      type: 'awareness',
      entries: [
        { clientID: 2, clock: 1, state: { cursor: 2 } },
        { clientID: 1, clock: 6, state: { cursor: 1 } },
      ],
    });
    // Without the callback the same frame is malformed.
    expect(parseFrame(frame([[1, 5, 'not json']])).ok).toBe(false);
    // A skipped entry whose length runs past the end is still malformed.
    const cut = parseFrame(frame([[1, 5, '{"cursor":1}']], 3), skip);
    expect(!cut.ok && cut.error.code).toBe('bad_message');
  });

  it('100,000 seeded malformed frames are refused as values, never thrown', () => {
    const seed = 0xf00d;
    const next = createFrameFuzzer(seed, 1);
    let accepted = 0;
    for (let i = 0; i < 100_000; i++) {
      const { data } = next();
      if (typeof data === 'string') continue;
      const r = parseFrame(data);
      if (r.ok) accepted++;
      else expect(r.error.code, `seed ${seed} frame ${i}`).toBe('bad_message');
    }
    // Random bytes occasionally spell a harmless message (e.g. [3], a query); nothing more.
    expect(accepted, `seed ${seed}`).toBeLessThan(1_000);
  });
});
