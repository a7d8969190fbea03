import type { Clock, WorkerSpawner } from '../../../../host';
import { createTsKernel } from './ts-kernel';
import type { CompositorKernel } from './types';
import { createWasmKernel } from './wasm-kernel';
import { createWasm2Kernel } from './wasm2-kernel';

/**
 * Which kernels `createKernel` may pick: `auto` prefers two-thread WebAssembly (when the host
 * gives a worker spawner), then one-thread WebAssembly, then TypeScript.
 */
export type KernelPreference = 'auto' | 'wasm2' | 'wasm' | 'ts';

export interface KernelHost {
  /** Starts the two-thread kernel's worker; without it `auto` uses one thread. */
  threads?: WorkerSpawner;
  /** Times the worker's start-up. */
  clock: Clock;
}

/**
 * The best kernel `preference` allows that can be created here; `fallbackReason` says why a
 * better one was passed over. An explicit `'wasm2'` or `'wasm'` rejects instead of falling back.
 */
export async function createKernel(
  preference: KernelPreference = 'auto',
  host?: KernelHost,
): Promise<{ kernel: CompositorKernel; fallbackReason?: string }> {
  if (preference === 'ts') return { kernel: createTsKernel() };
  const reasons: string[] = [];
  if (preference === 'wasm2' || (preference === 'auto' && host?.threads)) {
    try {
      if (!host?.threads) throw new Error('the host provides no worker spawner');
      return { kernel: await createWasm2Kernel(host.threads, { clock: host.clock }) };
    } catch (error) {
      if (preference === 'wasm2') throw error;
      reasons.push(`two threads: ${message(error)}`);
    }
  }
  try {
    const kernel = await createWasmKernel();
    return reasons.length ? { kernel, fallbackReason: reasons.join('; ') } : { kernel };
  } catch (error) {
    if (preference === 'wasm') throw error;
    reasons.push(message(error));
    return { kernel: createTsKernel(), fallbackReason: reasons.join('; ') };
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
