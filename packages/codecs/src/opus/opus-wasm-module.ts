import { opusWasmBytes } from './opus-wasm.mjs';

/** A compiled WebAssembly module, opaque here (lib ES2023 has no WebAssembly types); workers receive it. */
export type OpusWasmModule = { readonly __opusWasmModule?: never };

interface WasmApi {
  compile(bytes: Uint8Array): Promise<OpusWasmModule>;
}

let compiled: Promise<OpusWasmModule> | undefined;

/**
 * libopus compiled once per process and posted to every Opus worker, so they share one module
 * and V8's optimized code for it: a worker that compiled its own would start on baseline code,
 * about 2× slower for the first ~50 s of audio. Compiling is asynchronous (off this thread).
 */
export function opusWasmModule(): Promise<OpusWasmModule> {
  if (!compiled) {
    const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    // The same bytes the workers' glue would load (the SIMD build where supported).
    compiled = api.compile(opusWasmBytes());
    // A failed compile is retried by the next caller rather than cached.
    compiled.catch(() => (compiled = undefined));
  }
  return compiled;
}
