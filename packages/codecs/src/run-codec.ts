import { releasePacket } from '@patchbay/engine';
import type { InputEvent, Packet, RunContext } from '@patchbay/engine';
import { assertNever } from '@patchbay/protocol';
import type { CodecFrame, CodecHost } from './codec-host';
import { errorText } from './errors';

/**
 * C3: how long a codec may go without any progress (an output, an acknowledged frame, a
 * heartbeat) while the loop is waiting on it, before the watchdog abandons it. Generous: a
 * VP9 flush or a first frame can take hundreds of ms; a wedged codec never comes back at all.
 */
export const CODEC_IDLE_TIMEOUT_MS = 5_000;
/**
 * Input frames handed to a codec and not yet acknowledged before the loop stops reading input:
 * four batches (see CODEC_BATCH_FRAMES), so an unpaced run keeps the codec busy. A realtime
 * stream never gets near it (frames arrive one at a time). Codecs of big frames (video) set a
 * smaller `maxInFlight` on their node spec: this many 720p RGBA frames would be ~120 MB.
 */
export const CODEC_MAX_IN_FLIGHT = 32;
/** How often the armed watchdog reads the host's progress counter. */
export const CODEC_WATCHDOG_POLL_MS = 100;

/** C2: how a codec run ends. Exactly one of these for every run the codec ends. */
export const CodecOutcome = {
  completed: 'completed',
  watchdog_abandoned: 'watchdog_abandoned',
  crashed: 'crashed',
} as const;
export type CodecOutcome = (typeof CodecOutcome)[keyof typeof CodecOutcome];

/** Frames counted by the loop, reported with every end. */
export interface CodecRunCounts {
  framesIn: number;
  framesOut: number;
}

/** The end of `runCodec`: a C2 outcome, or `stopped` when the engine ended the node itself. */
export type CodecRunEnd =
  | ({ outcome: 'completed' } & CodecRunCounts)
  | ({
      outcome: 'watchdog_abandoned';
      /** How long nothing moved before the watchdog fired. */
      idleMs: number;
      /** What the loop was waiting for: the flush after end of input, or room in a full queue. */
      waitingFor: 'flush' | 'queue';
    } & CodecRunCounts)
  | ({
      outcome: 'crashed';
      error: string;
      /** `codec`: it threw or its thread/process died (C4); `input`: the adapter refused a packet. */
      cause: 'codec' | 'input';
    } & CodecRunCounts)
  /**
   * The node was removed or the session shut down mid-stream. Not a codec outcome: the engine
   * already moved the node to a terminal state, so there is nothing left to report.
   */
  | ({ outcome: 'stopped' } & CodecRunCounts);

/** What an adapter may see of its run: the mode, the engine clock and the connected inputs. */
export type CodecRunView = Pick<RunContext<unknown>, 'mode' | 'clock' | 'connectedInputs'>;

/** Turns packets into codec frames and codec frames into packets for one codec node. */
export interface CodecAdapter {
  /**
   * The frames one input packet becomes (usually one). `transfer: true` when the frame owns a
   * buffer nobody else sees (the host may detach it); packets are shared, so their buffers are not.
   * Throw a `CodecError('bad_input')` for input the codec cannot take: the run ends `crashed`.
   */
  input(packet: Packet, pin: string): ReadonlyArray<{ frame: CodecFrame; transfer?: boolean }>;
  output(frame: CodecFrame): Packet;
  /**
   * The frames a change to the input pins becomes (a muxer learns that an input closed or went
   * away); default none. Throwing ends the run like a refused packet.
   */
  pinEvent?(
    event: Exclude<InputEvent, { type: 'packet' }>,
  ): ReadonlyArray<{ frame: CodecFrame; transfer?: boolean }>;
  /** Frames the adapter still holds at the end of input, pushed before the codec's flush. */
  end?(): ReadonlyArray<{ frame: CodecFrame; transfer?: boolean }>;
  /** Default `out`. */
  outputPin?: string;
  /** Codec-specific figures merged into the node's stats when the run ends (e.g. per-stage µs). */
  stats?(): Record<string, number>;
}

export interface RunCodecOptions extends CodecAdapter {
  /** Default CODEC_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** Default CODEC_MAX_IN_FLIGHT. */
  maxInFlight?: number;
}

/**
 * The forward loop every codec node runs: moves packets from `ctx.recv()` into the codec and the
 * codec's outputs to `ctx.send()`, in order, with backpressure both ways, and ends with exactly
 * one outcome (C2). Terminates the host before returning, whatever the outcome.
 *
 * The watchdog (C3) is armed only while the loop waits on the codec alone: input has ended (the
 * flush is due) or the codec holds `maxInFlight` unacknowledged frames. Waiting for input or for
 * a slow downstream never counts. It fires when the host's progress counter has not moved for
 * `idleTimeoutMs`, terminates the host and reports `watchdog_abandoned`.
 */
export async function runCodec<P>(
  ctx: RunContext<P>,
  host: CodecHost,
  options: RunCodecOptions,
): Promise<CodecRunEnd> {
  const idleTimeoutMs = options.idleTimeoutMs ?? CODEC_IDLE_TIMEOUT_MS;
  const maxInFlight = Math.max(1, options.maxInFlight ?? CODEC_MAX_IN_FLIGHT);
  const pin = options.outputPin ?? 'out';
  const pollMs = Math.max(1, Math.min(CODEC_WATCHDOG_POLL_MS, Math.floor(idleTimeoutMs / 4)));
  const counts: CodecRunCounts = { framesIn: 0, framesOut: 0 };

  const outputs: CodecFrame[] = [];
  let inFlight = 0;
  /** Per frame handed to the codec, in order: what to do once the codec acknowledges it. */
  const onConsumed: Array<(() => void) | undefined> = [];
  let done = false;
  let crash: string | undefined;
  let crashCause: 'codec' | 'input' = 'codec';
  const wake = new Wakeup();
  const offHost = host.subscribe((event) => {
    switch (event.type) {
      case 'output':
        for (const f of event.frames) outputs.push(f);
        inFlight -= event.consumed;
        // The codec took these frames' data (copied or transferred it): their packets go back.
        for (let i = 0; i < event.consumed; i++) onConsumed.shift()?.();
        break;
      case 'done':
        done = true;
        break;
      case 'crashed':
        crash ??= event.error;
        break;
      default:
        assertNever(event, 'codec event');
    }
    wake.notify();
  });
  const offStop = ctx.signal.onStop(() => wake.notify());

  let inputEnded = false;
  let recvPending = false;
  let received: { event: InputEvent | null } | undefined;
  let recvError: unknown;
  let idle: { idleMs: number } | undefined;

  try {
    for (;;) {
      // Outputs first, in order: `send` waits on a full reliable link, which is downstream being
      // slow, never the codec being stuck, so the watchdog is not armed here.
      while (outputs.length > 0 && crash === undefined && !ctx.signal.stopped) {
        await ctx.send(pin, options.output(outputs.shift()!));
        counts.framesOut++;
      }
      if (recvError !== undefined) throw recvError;
      if (crash !== undefined)
        return { outcome: 'crashed', error: crash, cause: crashCause, ...counts };
      if (ctx.signal.stopped) return { outcome: 'stopped', ...counts };
      if (done) return { outcome: 'completed', ...counts };

      if (received) {
        const { event } = received;
        received = undefined;
        // `recv` also ends when the node is stopping; only a real end of input flushes.
        if (event === null && ctx.signal.stopped) continue;
        let frames: ReturnType<CodecAdapter['input']>;
        try {
          if (event === null) frames = options.end?.() ?? [];
          else if (event.type === 'packet') frames = options.input(event.packet, event.pin);
          else frames = options.pinEvent?.(event) ?? [];
        } catch (e) {
          crash = errorText(e);
          crashCause = 'input';
          continue;
        }
        // A packet is released once the codec consumed the last frame made from it; one that
        // made no frame may still be held by the adapter, and is not released.
        const packet = event?.type === 'packet' ? event.packet : undefined;
        frames.forEach((f, i) => {
          host.push(f.frame, { transfer: f.transfer === true });
          onConsumed.push(
            packet && i === frames.length - 1 ? () => releasePacket(packet) : undefined,
          );
          inFlight++;
          counts.framesIn++;
        });
        if (event === null) {
          inputEnded = true;
          host.end();
        }
        continue;
      }

      const wantInput = !inputEnded && inFlight < maxInFlight;
      if (wantInput && !recvPending) {
        recvPending = true;
        ctx.recv().then(
          (event) => {
            recvPending = false;
            received = { event };
            wake.notify();
          },
          (e: unknown) => {
            recvPending = false;
            recvError = e ?? new Error('recv failed');
            wake.notify();
          },
        );
      }
      // Not reading input: the codec alone decides when we continue, so the watchdog watches it.
      const disarm = wantInput
        ? undefined
        : armWatchdog(ctx, host, idleTimeoutMs, pollMs, (idleMs) => {
            idle = { idleMs };
            wake.notify();
          });
      await wake.wait();
      disarm?.();
      // A late answer that raced the watchdog wins: the codec was not stuck after all.
      if (idle && outputs.length === 0 && !done && crash === undefined && !received) {
        await host.terminate();
        return {
          outcome: 'watchdog_abandoned',
          idleMs: idle.idleMs,
          waitingFor: inputEnded ? 'flush' : 'queue',
          ...counts,
        };
      }
      idle = undefined;
    }
  } finally {
    offHost();
    offStop();
    ctx.stats({
      codec_frames_in: counts.framesIn,
      codec_frames_out: counts.framesOut,
      ...options.stats?.(),
    });
    // Completed or not, the codec's thread or process ends with the run.
    await host.terminate();
  }
}

/** Polls the host's progress counter; calls `fire` once it has not moved for `timeoutMs`. */
function armWatchdog<P>(
  ctx: RunContext<P>,
  host: CodecHost,
  timeoutMs: number,
  pollMs: number,
  fire: (idleMs: number) => void,
): () => void {
  let last = host.progress;
  let since = ctx.clock.now();
  let cancel = ctx.clock.setTimer(tick, pollMs);
  function tick(): void {
    const now = ctx.clock.now();
    const progress = host.progress;
    if (progress !== last) {
      last = progress;
      since = now;
    } else if (now - since >= timeoutMs) {
      fire(now - since);
      return;
    }
    cancel = ctx.clock.setTimer(tick, pollMs);
  }
  return () => cancel();
}

/** A wake-up that is never lost: `notify` before `wait` makes the next `wait` return at once. */
class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;

  notify(): void {
    const resolve = this.#resolve;
    if (resolve) {
      this.#resolve = undefined;
      resolve();
    } else {
      this.#pending = true;
    }
  }

  wait(): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.#resolve = resolve));
  }
}
