/**
 * The few WebAssembly JS-API shapes the compositor uses. The engine compiles with lib ES2023
 * and no DOM or Node types, which lack `WebAssembly`. These are plain interfaces rather than a
 * `declare global`, so they cannot clash with lib.dom or @types/node where the engine is
 * compiled alongside them (apps/web, tests, benchmarks); the global is looked up at run time.
 */
export interface WasmMemory {
  /** A `SharedArrayBuffer` for a shared memory. */
  readonly buffer: ArrayBuffer;
  /** Grows by `pages` 64 KiB pages; returns the previous size in pages. */
  grow(pages: number): number;
}

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

/** A compiled module: structured-cloneable, so it can be posted to a worker. */
export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmApi {
  instantiate(bytes: Uint8Array, imports?: object): Promise<{ instance: WasmInstance }>;
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  readonly Instance: new (module: WasmModule, imports?: object) => WasmInstance;
  readonly Memory: new (descriptor: {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }) => WasmMemory;
}

/** The host's `WebAssembly`, or undefined where there is none. */
export function wasmApi(): WasmApi | undefined {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return api && typeof api.instantiate === 'function' ? api : undefined;
}

/** 64 KiB, the WebAssembly page size. */
export const WASM_PAGE_BYTES = 65536;
