// @ts-check
/**
 * libopus as WebAssembly: the SIMD (or plain) build that @evan/opus ships, driven through its C
 * API directly. Our own glue instead of the package's `wasm/index.js` because that one compiles
 * the module itself, once per thread: every new worker then starts on V8's baseline code and
 * needs ~50 s of audio before the optimized tier takes over (≈2× slower until then). Here the
 * compiled module can be handed in, so every worker of the process shares one module and its
 * optimized code. Also no native addon: see opus-encoder-codec.mjs for why.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const SAMPLE_RATE = 48_000;
/** The largest packet libopus makes (RFC 6716: 1275 bytes per frame, up to 48 frames… far more than 20 ms needs). */
const MAX_PACKET_BYTES = 4_000;
/** 120 ms at 48 kHz: the longest an Opus packet decodes to, per channel. */
const MAX_DECODE_SAMPLES = 5_760;
/** `opus_encoder_init` application codes (opus_defines.h). */
const APPLICATION = { voip: 2048, audio: 2049, restricted_lowdelay: 2051 };
const OPUS_SET_BITRATE = 4002;
const OPUS_GET_LOOKAHEAD = 4027;

/** @typedef {import('./opus-wasm-module').OpusWasmModule} WasmModule  a compiled module (posts to workers) */

/**
 * @typedef {object} OpusExports
 * @property {{ buffer: ArrayBuffer }} memory
 * @property {(n: number) => number} malloc
 * @property {(p: number) => void} free
 * @property {(code: number) => number} opus_strerror
 * @property {(channels: number) => number} opus_encoder_get_size
 * @property {(st: number, rate: number, channels: number, application: number) => number} opus_encoder_init
 * @property {(st: number, request: number, value: number) => number} opus_encoder_ctl_set
 * @property {(st: number, request: number) => number} opus_encoder_ctl_get
 * @property {(st: number, pcm: number, frameSize: number, out: number, maxBytes: number) => number} opus_encode
 * @property {(channels: number) => number} opus_decoder_get_size
 * @property {(st: number, rate: number, channels: number) => number} opus_decoder_init
 * @property {(st: number, data: number, length: number, pcm: number, frameSize: number, fec: number) => number} opus_decode
 * @property {() => void} [_initialize]
 */

/**
 * @typedef {object} WasmApi
 * @property {(bytes: Uint8Array) => boolean} validate
 * @property {new (bytes: Uint8Array) => WasmModule} Module
 * @property {new (module: WasmModule, imports: object) => { exports: unknown }} Instance
 */

/** @returns {WasmApi} */
function wasmApi() {
  return /** @type {{ WebAssembly: WasmApi }} */ (/** @type {unknown} */ (globalThis)).WebAssembly;
}

// A module whose one function does `i32.const 0; i8x16.splat; drop`: valid only with SIMD.
const SIMD_PROBE = Uint8Array.of(
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  4,
  1,
  96,
  0,
  0,
  3,
  2,
  1,
  0,
  10,
  9,
  1,
  7,
  0,
  65,
  0,
  253,
  15,
  26,
  11,
);

/** The wire bytes of libopus: the SIMD build where the engine supports it. */
export function opusWasmBytes() {
  const build = wasmApi().validate(SIMD_PROBE) ? 'simd' : 'opus';
  return new Uint8Array(readFileSync(require.resolve(`@evan/opus/wasm/${build}.wasm`)));
}

/**
 * One libopus instance (its own memory): any number of encoder and decoder states live in it.
 * @param {WasmModule | undefined} module  the process's compiled libopus (opus-wasm-module.ts), or none to compile here
 */
export function instantiateOpus(module) {
  const api = wasmApi();
  const noop = () => 0;
  const instance = new api.Instance(module ?? new api.Module(opusWasmBytes()), {
    // libopus never does I/O; the imports exist because the build links a minimal libc.
    wasi_snapshot_preview1: { fd_seek: noop, fd_write: noop, fd_close: noop, proc_exit: noop },
    // Views are made per call from `memory.buffer`, so a grown memory needs no bookkeeping.
    env: { emscripten_notify_memory_growth: noop },
  });
  const x = /** @type {OpusExports} */ (instance.exports);
  x._initialize?.();

  /** @param {number} code */
  const check = (code) => {
    if (code >= 0) return code;
    const bytes = new Uint8Array(x.memory.buffer);
    let end = x.opus_strerror(code);
    const start = end;
    while (bytes[end] !== 0 && end < bytes.length) end++;
    throw new Error(`opus: ${String.fromCharCode(...bytes.subarray(start, end))}`);
  };

  return {
    /**
     * @param {{ channels: number, application: 'audio' | 'voip' | 'restricted_lowdelay', bitrate?: number }} o
     */
    encoder(o) {
      const state = x.malloc(x.opus_encoder_get_size(o.channels));
      const pcm = x.malloc(MAX_DECODE_SAMPLES * o.channels * 2);
      const out = x.malloc(MAX_PACKET_BYTES);
      check(x.opus_encoder_init(state, SAMPLE_RATE, o.channels, APPLICATION[o.application]));
      if (o.bitrate !== undefined)
        check(x.opus_encoder_ctl_set(state, OPUS_SET_BITRATE, o.bitrate));
      return {
        lookahead: x.opus_encoder_ctl_get(state, OPUS_GET_LOOKAHEAD),
        /** @param {Int16Array} frame interleaved s16, one frame @returns {Uint8Array} a fresh buffer */
        encode(frame) {
          new Int16Array(x.memory.buffer, pcm, frame.length).set(frame);
          const n = check(
            x.opus_encode(state, pcm, frame.length / o.channels, out, MAX_PACKET_BYTES),
          );
          return new Uint8Array(x.memory.buffer, out, n).slice();
        },
        free() {
          x.free(state);
          x.free(pcm);
          x.free(out);
        },
      };
    },
    /** @param {{ channels: number }} o */
    decoder(o) {
      const state = x.malloc(x.opus_decoder_get_size(o.channels));
      const pcm = x.malloc(MAX_DECODE_SAMPLES * o.channels * 2);
      const data = x.malloc(MAX_PACKET_BYTES * 16);
      check(x.opus_decoder_init(state, SAMPLE_RATE, o.channels));
      return {
        /** @param {Uint8Array} packet @returns {Int16Array} interleaved s16, a view valid until the next call */
        decode(packet) {
          if (packet.length > MAX_PACKET_BYTES * 16)
            throw new Error(`opus: a ${packet.length}-byte packet is too large`);
          new Uint8Array(x.memory.buffer, data, packet.length).set(packet);
          const samples = check(
            x.opus_decode(state, data, packet.length, pcm, MAX_DECODE_SAMPLES, 0),
          );
          return new Int16Array(x.memory.buffer, pcm, samples * o.channels);
        },
        free() {
          x.free(state);
          x.free(pcm);
          x.free(data);
        },
      };
    },
  };
}
