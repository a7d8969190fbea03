import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { binaryFrame } from './yjs-route';

// ws's own framing (not in its type declarations).
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};

describe('frames written straight to the socket', () => {
  it.each([0, 1, 125, 126, 200, 65_535, 65_536, 70_000])(
    'a %i-byte message is framed exactly as ws frames it',
    (size) => {
      const payload = Uint8Array.from({ length: size }, (_, i) => (i * 31) & 0xff);
      const framed = Sender.frame(Buffer.from(payload), {
        fin: true,
        opcode: 2,
        mask: false,
        readOnly: true,
        rsv1: false,
      });
      expect(binaryFrame(payload).equals(Buffer.concat(framed))).toBe(true);
    },
  );
});
