import type { Clock } from '../host';

/**
 * A clock tests move by hand. `advance` fires due timers in time order and lets promise chains
 * they start settle before moving on, so paced sources behave as on a real clock.
 */
export class ManualClock implements Clock {
  #now = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, ms: number): () => void {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return () => this.#timers.delete(id);
  }

  yieldToHost(): Promise<void> {
    return Promise.resolve();
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      let nextId = -1;
      let next: { at: number; callback: () => void } | undefined;
      for (const [id, t] of this.#timers) {
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && id < nextId))) {
          next = t;
          nextId = id;
        }
      }
      if (!next) break;
      this.#timers.delete(nextId);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = end;
    await settle();
  }
}

/** Lets queued promise callbacks run (a few macrotask-free rounds). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
