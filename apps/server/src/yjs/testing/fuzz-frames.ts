/**
 * Seeded generators of malformed y-websocket frames: random bytes, truncated varints, huge
 * lengths, unknown message types, garbage updates and awareness, cut or padded real frames.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FuzzFrame = { kind: string; data: Uint8Array | string };

/** Real frames of a small document, to be cut or padded (never sent whole). */
function realFrames(): Uint8Array[] {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  const node = doc.getMap('nodes').set('fuzz', new Y.Map<unknown>());
  node.set('gain', 0.5);
  node.set('label', 'x'.repeat(40));
  doc.getMap('nodes').delete('fuzz');
  return updates.map((u) => {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint(e, 2);
    encoding.writeVarUint8Array(e, u);
    return encoding.toUint8Array(e);
  });
}

export function createFrameFuzzer(seed: number, oversizeBytes: number): () => FuzzFrame {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const frame = (write: (e: encoding.Encoder) => void) => {
    const e = encoding.createEncoder();
    write(e);
    return encoding.toUint8Array(e);
  };
  const awareness = (write: (e: encoding.Encoder) => void) =>
    frame((e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, frame(write));
    });
  const reals = realFrames();

  const kinds: [string, () => Uint8Array | string][] = [
    ['random_bytes', () => bytes(int(48))],
    [
      'truncated_varint',
      () => Uint8Array.from([int(4), ...bytes(1 + int(9)).map((b) => b | 0x80)]),
    ],
    [
      'huge_length',
      () =>
        frame((e) => {
          const type = int(2);
          encoding.writeVarUint(e, type);
          if (type === 0) encoding.writeVarUint(e, int(3));
          encoding.writeVarUint(e, 2 ** (20 + int(33)));
          encoding.writeUint8Array(e, bytes(int(16)));
        }),
    ],
    [
      'unknown_message_type',
      () =>
        frame((e) => {
          encoding.writeVarUint(e, [2, 4 + int(1000)][int(2)] as number);
          encoding.writeUint8Array(e, bytes(int(16)));
        }),
    ],
    [
      'unknown_sync_type',
      () =>
        frame((e) => {
          encoding.writeVarUint(e, 0);
          encoding.writeVarUint(e, 3 + int(200));
          encoding.writeVarUint8Array(e, bytes(int(16)));
        }),
    ],
    [
      'garbage_update',
      () =>
        frame((e) => {
          encoding.writeVarUint(e, 0);
          encoding.writeVarUint(e, 1 + int(2));
          encoding.writeVarUint8Array(e, bytes(1 + int(40)));
        }),
    ],
    [
      'garbage_state_vector',
      () =>
        frame((e) => {
          encoding.writeVarUint(e, 0);
          encoding.writeVarUint(e, 0);
          encoding.writeVarUint8Array(e, Uint8Array.from([200, ...bytes(int(6))]));
        }),
    ],
    [
      'bad_awareness',
      () =>
        awareness((e) => {
          encoding.writeVarUint(e, 1 + int(3));
          encoding.writeVarUint(e, [int(2 ** 31), 2 ** 60][int(2)] as number);
          encoding.writeVarUint(e, int(100));
          const texts = [
            '{not json',
            '[1,2,3]',
            '42',
            '"text"',
            '['.repeat(5000) + ']'.repeat(5000),
            '{"a":'.repeat(100) + '1' + '}'.repeat(100),
          ];
          encoding.writeVarString(e, texts[int(texts.length)] as string);
        }),
    ],
    [
      'cut_real_frame',
      () => {
        const real = reals[int(reals.length)] as Uint8Array;
        return real.subarray(0, 1 + int(real.length - 1));
      },
    ],
    [
      'padded_real_frame',
      () => {
        const real = reals[int(reals.length)] as Uint8Array;
        return Uint8Array.from([...real, ...bytes(1 + int(8))]);
      },
    ],
    ['text_frame', () => 'hello'.repeat(1 + int(4))],
  ];

  let n = 0;
  return () => {
    n++;
    // A few oversize frames; the rest spread over the kinds.
    if (n % 500 === 0) return { kind: 'oversize', data: new Uint8Array(oversizeBytes) };
    const [kind, make] = kinds[int(kinds.length)] as [string, () => Uint8Array | string];
    return { kind, data: make() };
  };
}
