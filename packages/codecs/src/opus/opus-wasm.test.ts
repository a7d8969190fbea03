/** Our libopus glue against @evan/opus's own WASM API: the same bytes in, the same bytes out. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { instantiateOpus } from './opus-wasm.mjs';
import { opusWasmModule } from './opus-wasm-module';

interface LibEncoder {
  encode(pcm: Int16Array): Uint8Array;
  ctl(cmd: number, arg?: number): number;
}
interface LibDecoder {
  decode(packet: Uint8Array): Uint8Array;
}
const lib = createRequire(import.meta.url)('@evan/opus/wasm/index.js') as {
  Encoder: new (o: object) => LibEncoder;
  Decoder: new (o: object) => LibDecoder;
};

const frames = Array.from({ length: 50 }, (_, f) =>
  Int16Array.from({ length: 960 }, (_, i) =>
    Math.round(12_000 * Math.sin((2 * Math.PI * 523 * (f * 960 + i)) / 48_000)),
  ),
);

describe('libopus glue (opus-wasm.mjs)', () => {
  it('encodes and decodes exactly as @evan/opus does, with a module compiled here or handed in', async () => {
    const reference = new lib.Encoder({ channels: 1, application: 'audio', sample_rate: 48_000 });
    reference.ctl(4002, 48_000);
    const expected = frames.map((f) => reference.encode(f));
    const refDecoder = new lib.Decoder({ channels: 1, sample_rate: 48_000 });
    const expectedPcm = expected.map((p) => new Int16Array(refDecoder.decode(p).slice().buffer));

    for (const module of [undefined, await opusWasmModule()]) {
      const opus = instantiateOpus(module);
      const encoder = opus.encoder({ channels: 1, application: 'audio', bitrate: 48_000 });
      expect(encoder.lookahead).toBe(312);
      const packets = frames.map((f) => encoder.encode(f));
      expect(packets.map((p) => [...p])).toEqual(expected.map((p) => [...p]));
      const decoder = opus.decoder({ channels: 1 });
      expect(packets.map((p) => [...decoder.decode(p)])).toEqual(expectedPcm.map((p) => [...p]));
      encoder.free();
      decoder.free();
    }
  });

  it('reports libopus errors by name', () => {
    const decoder = instantiateOpus(undefined).decoder({ channels: 1 });
    // TOC code 3 (arbitrary frame count) with a count byte of 0 frames: an invalid packet.
    expect(() => decoder.decode(Uint8Array.from([0xfb, 0x00]))).toThrow(/^opus: /);
  });
});
