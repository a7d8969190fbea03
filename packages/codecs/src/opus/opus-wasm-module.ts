import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A compiled WebAssembly module, opaque here (lib ES2023 has no WebAssembly types); workers receive it. */
export type OpusWasmModule = { readonly __opusWasmModule?: never };

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<OpusWasmModule>;
}

const require = createRequire(import.meta.url);
// `i32.const 0; i8x16.splat; drop`: validates only where WebAssembly SIMD is supported.
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

let compiled: Promise<OpusWasmModule> | undefined;

/**
 * libopus compiled once per process and posted to every Opus worker, so they share one module
 * and V8's optimized code for it: a worker that compiled its own would start on baseline code,
 * about 2× slower for the first ~50 s of audio. Compiling is asynchronous (off this thread).
 */
export function opusWasmModule(): Promise<OpusWasmModule> {
  if (!compiled) {
    const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const build = api.validate(SIMD_PROBE) ? 'simd' : 'opus';
    const bytes = new Uint8Array(readFileSync(require.resolve(`@evan/opus/wasm/${build}.wasm`)));
    compiled = api.compile(bytes);
    // A failed compile is retried by the next caller rather than cached.
    compiled.catch(() => (compiled = undefined));
  }
  return compiled;
}
