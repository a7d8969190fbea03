import type { ConnectionMode } from '@patchbay/protocol';
import type { Packet } from './packets';
import { releasePacket } from './frame-pool';

/** Packets a link holds before `reliable` senders wait and `best_effort` senders drop. */
export const DEFAULT_CHANNEL_CAPACITY = 16;
/** The same for links carrying raw video frames: enough to overlap two stages, no more. */
export const RAW_VIDEO_CHANNEL_CAPACITY = 4;

/**
 * One link between an output pin and an input pin (E16). Single producer (the upstream node's
 * `send`), single consumer (the downstream node's input mux).
 */
export class Channel {
  readonly mode: ConnectionMode;
  readonly capacity: number;
  readonly #queue: Packet[] = [];
  /** The upstream ended its stream: the consumer drains what is left, then sees the pin closed. */
  #closed = false;
  /** The consumer is gone (disconnected, removed, ended): sends are discarded at once. */
  #detached = false;
  #spaceWaiters: Array<() => void> = [];
  /** Wakes the consumer; set by the input mux that owns this channel. */
  onActivity: () => void = () => {};
  dropped = 0;

  constructor(mode: ConnectionMode, capacity = DEFAULT_CHANNEL_CAPACITY) {
    this.mode = mode;
    this.capacity = capacity;
  }

  get closed(): boolean {
    return this.#closed;
  }
  get detached(): boolean {
    return this.#detached;
  }
  get size(): number {
    return this.#queue.length;
  }
  get full(): boolean {
    return this.#queue.length >= this.capacity;
  }
  /** Closed by the producer and fully drained by the consumer. */
  get finished(): boolean {
    return this.#closed && this.#queue.length === 0;
  }

  /**
   * Offers a packet. Returns `'queued'`, `'dropped'` (best effort and full, or nobody listening),
   * or `'full'` (reliable: call `waitForSpace` and offer again).
   */
  offer(packet: Packet): 'queued' | 'dropped' | 'full' {
    if (this.#detached || this.#closed) return 'dropped';
    if (this.#queue.length >= this.capacity) {
      if (this.mode === 'best_effort') {
        this.dropped++;
        return 'dropped';
      }
      return 'full';
    }
    this.#queue.push(packet);
    // The consumer now holds the packet too; it releases a pooled frame when done with it.
    if (packet.type === 'video') packet.lease?.retain();
    this.onActivity();
    return 'queued';
  }

  /** Resolves when a packet was taken or the link went away. */
  waitForSpace(): Promise<void> {
    if (!this.full || this.#detached || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#spaceWaiters.push(resolve));
  }

  take(): Packet | undefined {
    const packet = this.#queue.shift();
    if (packet !== undefined) this.#wakeSenders();
    return packet;
  }

  /** Producer side: no more packets will come. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeSenders();
    this.onActivity();
  }

  /** Consumer side: drop everything and release a waiting producer. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    // Queued packets never reach the consumer: their references go with them.
    for (const packet of this.#queue) releasePacket(packet);
    this.#queue.length = 0;
    this.#wakeSenders();
    this.onActivity();
  }

  #wakeSenders(): void {
    const waiters = this.#spaceWaiters;
    if (waiters.length === 0) return;
    this.#spaceWaiters = [];
    for (const w of waiters) w();
  }
}
