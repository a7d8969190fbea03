/**
 * S8: during a drag, commit at most once per `intervalMs` (the latest value wins) and always
 * commit the final value when the gesture ends. The scheduler is injected so tests need no timers.
 */
export interface Scheduler {
  now(): number;
  later(fn: () => void, ms: number): () => void;
}

/** About ten commits per second during a drag. */
export const DRAG_COMMIT_INTERVAL_MS = 100;

export const browserScheduler: Scheduler = {
  now: () => performance.now(),
  later: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

export class CommitThrottle<T> {
  readonly #commit: (value: T) => void;
  readonly #scheduler: Scheduler;
  readonly #intervalMs: number;
  #last = Number.NEGATIVE_INFINITY;
  #pending: { value: T } | undefined;
  #cancel: (() => void) | undefined;

  constructor(
    commit: (value: T) => void,
    scheduler: Scheduler = browserScheduler,
    intervalMs = DRAG_COMMIT_INTERVAL_MS,
  ) {
    this.#commit = commit;
    this.#scheduler = scheduler;
    this.#intervalMs = intervalMs;
  }

  /** A new value during the gesture. */
  push(value: T): void {
    this.#pending = { value };
    if (this.#cancel) return;
    const wait = this.#last + this.#intervalMs - this.#scheduler.now();
    if (wait <= 0) {
      this.#flush();
      return;
    }
    this.#cancel = this.#scheduler.later(() => {
      this.#cancel = undefined;
      this.#flush();
    }, wait);
  }

  /** The gesture ended: commit what is pending now. */
  end(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#flush();
  }

  /** Drop what is pending without committing (the gesture was abandoned). */
  cancel(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#pending = undefined;
  }

  #flush(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    this.#last = this.#scheduler.now();
    this.#commit(p.value);
  }
}
