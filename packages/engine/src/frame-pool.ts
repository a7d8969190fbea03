import type { Packet, PacketLease } from './packets';

/**
 * Recycled frame buffers for video producers.
 *
 * Fresh multi-megabyte buffers are expensive: every new page is zeroed and faulted in by the
 * kernel on first touch, and each one adds external memory that drives garbage collection. On
 * this project's 2-core VM a new 720p RGBA buffer costs 11–13 ms against 0.2 ms to copy into one
 * already touched (see BENCHMARKS.md, video pipeline). So a producer takes its buffers from a
 * pool, and they come back once every consumer is done with them.
 *
 * Lifetime is a reference count on a `FrameLease` that travels with the packet
 * (`VideoPacket.lease`):
 * - the producer holds one reference from `acquire` and drops it after `send` returns;
 * - the engine takes one more for every link queue the packet enters;
 * - a consumer that is done with the pixels (it copied them, or replaced them with a newer
 *   frame) calls `releasePacket`;
 * - whoever keeps a packet for an unknown time (an output tap, a test collector, any node that
 *   never releases) simply does not release it, and the buffer is never reused.
 *
 * Missing releases therefore cost only speed, never correctness; only a release without a
 * matching reference could hand out a buffer still in use, and releases happen in the engine
 * and in the few nodes that know they copied the data.
 */
export class FramePool {
  readonly #free = new Map<number, Uint8Array[]>();
  #allocated = 0;
  #reused = 0;

  /**
   * `maxFreePerSize`: buffers of one size kept for reuse; more are left to the garbage collector.
   * The pool never holds more than were once in use together: an unpaced producer fills its
   * link (16 packets) plus what the consumer holds; a paced one, two or three.
   */
  constructor(readonly maxFreePerSize = 32) {}

  /**
   * A buffer of `bytes` bytes with unspecified contents (the caller overwrites all of it), leased
   * with one reference held by the caller.
   */
  acquire(bytes: number): FrameLease {
    const data = this.#free.get(bytes)?.pop();
    if (data) this.#reused++;
    else this.#allocated++;
    return new FrameLease(data ?? new Uint8Array(bytes), this);
  }

  /** Buffers made new and buffers reused since the pool was created. */
  get counts(): { allocated: number; reused: number } {
    return { allocated: this.#allocated, reused: this.#reused };
  }

  /** Called by a lease whose last reference went. */
  recycle(data: Uint8Array): void {
    // A buffer transferred to another thread comes back detached (length 0): nothing to keep.
    if (data.byteLength === 0) return;
    let list = this.#free.get(data.byteLength);
    if (!list) this.#free.set(data.byteLength, (list = []));
    if (list.length < this.maxFreePerSize) list.push(data);
  }

  /** Lets go of every free buffer. */
  clear(): void {
    this.#free.clear();
  }
}

/** One use of a pooled buffer: see FramePool. */
export class FrameLease implements PacketLease {
  #refs = 1;

  constructor(
    readonly data: Uint8Array,
    private readonly pool: FramePool,
  ) {}

  /** References still held; 0 once the buffer went back to the pool. */
  get refs(): number {
    return this.#refs;
  }

  /** One more holder, who will call `release`. A lease already back in the pool stays there. */
  retain(): void {
    if (this.#refs > 0) this.#refs++;
  }

  /** One holder is done; the last one returns the buffer to the pool. Extra calls do nothing. */
  release(): void {
    if (this.#refs <= 0) return;
    if (--this.#refs === 0) this.pool.recycle(this.data);
  }

  /** Someone keeps the buffer for an unknown time: it is never reused. */
  keep(): void {
    if (this.#refs > 0) this.#refs = Number.POSITIVE_INFINITY;
  }
}

/** A consumer is done with this packet's pixels (no-op for packets without a lease). */
export function releasePacket(packet: Packet): void {
  if (packet.type === 'video') packet.lease?.release();
}
