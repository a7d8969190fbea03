import { createTsKernel } from './ts-kernel';
import type { CompositorKernel } from './types';
import { createWasmKernel } from './wasm-kernel';

/** Which kernels `createKernel` may pick: `auto` prefers WebAssembly and falls back to TypeScript. */
export type KernelPreference = 'auto' | 'wasm' | 'ts';

/**
 * The WebAssembly SIMD kernel when it can be instantiated here, else the TypeScript one. With
 * `'wasm'` a failure rejects instead of falling back.
 */
export async function createKernel(
  preference: KernelPreference = 'auto',
): Promise<{ kernel: CompositorKernel; fallbackReason?: string }> {
  if (preference === 'ts') return { kernel: createTsKernel() };
  try {
    return { kernel: await createWasmKernel() };
  } catch (error) {
    if (preference === 'wasm') throw error;
    return {
      kernel: createTsKernel(),
      fallbackReason: error instanceof Error ? error.message : String(error),
    };
  }
}
