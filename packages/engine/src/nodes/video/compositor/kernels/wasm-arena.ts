import { WASM_PAGE_BYTES } from './wasm-api';
import type { WasmMemory } from './wasm-api';

const ALIGN = 16;

/**
 * First-fit allocator over a WebAssembly memory, from `base` up: the kernel module allocates
 * nothing itself, the host lays out frames, output and maps here. Blocks are 16-byte aligned
 * (v128 loads). Growing the memory replaces `memory.buffer`, so callers make views per use.
 */
export class WasmArena {
  /** Free blocks, sorted by address, coalesced. */
  private readonly free: { ptr: number; size: number }[] = [];
  private readonly sizes = new Map<number, number>();
  private top: number;

  constructor(
    private readonly memory: WasmMemory,
    base: number,
  ) {
    this.top = align(base);
  }

  /** Bytes currently handed out. */
  get used(): number {
    let n = 0;
    for (const size of this.sizes.values()) n += size;
    return n;
  }

  alloc(bytes: number): number {
    const size = align(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      if (block.size < size) continue;
      const ptr = block.ptr;
      if (block.size === size) this.free.splice(i, 1);
      else {
        block.ptr += size;
        block.size -= size;
      }
      this.sizes.set(ptr, size);
      return ptr;
    }
    const ptr = this.top;
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / WASM_PAGE_BYTES));
    this.top = end;
    this.sizes.set(ptr, size);
    return ptr;
  }

  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    let i = 0;
    while (i < this.free.length && this.free[i]!.ptr < ptr) i++;
    this.free.splice(i, 0, { ptr, size });
    // Coalesce with the next, then the previous neighbour; a block ending at the top returns to it.
    const next = this.free[i + 1];
    const cur = this.free[i]!;
    if (next && cur.ptr + cur.size === next.ptr) {
      cur.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.ptr + prev.size === cur.ptr) {
      prev.size += cur.size;
      this.free.splice(i, 1);
    }
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.free.pop();
    }
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
