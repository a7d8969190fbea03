import type { PipelineMode } from '@patchbay/protocol';
import type { Channel } from './channel';
import type { Clock, Logger } from './host';
import type { InputEvent, RunContext, StopSignal, ViewDataCause } from './node-api';
import type { Packet } from './packets';
import { createStopController } from './stop-signal';

/** Unpaced runs hand control back to the host every this many packets (see `Clock.yieldToHost`). */
const UNPACED_YIELD_EVERY = 32;

interface InputPort {
  readonly pin: string;
  readonly channels: Set<Channel>;
}

/** What the runtime reports back to the engine (all calls land on the control loop). */
export interface RuntimeHooks<P> {
  params(): P;
  health(status: 'running' | 'degraded' | 'recovering', reason: string | undefined): void;
  stats(values: Readonly<Record<string, number>>): void;
  viewData(data: unknown, cause: ViewDataCause): void;
  /** Packet counters moved (cheap: the engine only schedules a coalesced stats flush). */
  countersChanged(): void;
  /** Every packet the node sends, before fan-out (output taps). */
  output?(pin: string, packet: Packet): void;
}

/**
 * The running side of one node: its input ports (a round-robin mux over channels), its output
 * fan-out, and the `RunContext` handed to `NodeInstance.run`.
 */
export class NodeRuntime<P> {
  readonly #inputs = new Map<string, InputPort>();
  readonly #outputs = new Map<string, Channel[]>();
  readonly #events: InputEvent[] = [];
  readonly #tuneListeners = new Set<(params: P, changed: Readonly<Partial<P>>) => void>();
  readonly #stop = createStopController();
  #wake: (() => void) | undefined;
  #rr = 0;
  readonly #closedPins = new Set<string>();
  #attachedEver = false;
  #startedAt = 0;
  #unpacedCount = 0;
  readonly #counters = { packets_in: 0, packets_out: 0, packets_dropped: 0 };
  readonly context: RunContext<P>;

  constructor(
    readonly nodeId: string,
    readonly mode: PipelineMode,
    readonly pacing: 'realtime' | 'unpaced',
    readonly clock: Clock,
    logger: Logger,
    readonly hooks: RuntimeHooks<P>,
  ) {
    // `this` is captured by the closures below; the object is the node's view of the engine.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const rt = this;
    this.context = {
      nodeId,
      mode,
      logger,
      clock,
      get params() {
        return hooks.params();
      },
      signal: this.#stop.signal,
      connectedInputs: () => this.connectedInputs(),
      recv: () => this.#recv(),
      send: (pin, packet) => this.#send(pin, packet),
      sleep: (ms) => this.#sleep(ms),
      pace: (ptsUs) => this.#pace(ptsUs),
      setHealth: (status, reason) => hooks.health(status, reason),
      stats: (values) => hooks.stats(values),
      viewData: (data, cause) => hooks.viewData(data, cause),
      onTune(listener) {
        rt.#tuneListeners.add(listener);
        return () => rt.#tuneListeners.delete(listener);
      },
    };
  }

  get signal(): StopSignal {
    return this.#stop.signal;
  }

  /** Marks the start of `run` (the pacing origin). */
  started(): void {
    this.#startedAt = this.clock.now();
  }

  stop(): void {
    this.#stop.stop();
    this.#notify();
  }

  connectedInputs(): string[] {
    return [...this.#inputs.values()].filter((p) => p.channels.size > 0).map((p) => p.pin);
  }

  hasInputConnections(): boolean {
    for (const p of this.#inputs.values()) if (p.channels.size > 0) return true;
    return false;
  }

  counters(): Readonly<Record<string, number>> {
    return this.#counters;
  }

  /** Runs the node's tune listeners; a throwing listener fails the node (the caller catches). */
  tuned(params: P, changed: Partial<P>): void {
    for (const l of this.#tuneListeners) l(params, changed);
  }

  attachInput(pin: string, channel: Channel): void {
    let port = this.#inputs.get(pin);
    if (!port) {
      port = { pin, channels: new Set() };
      this.#inputs.set(pin, port);
    }
    const first = port.channels.size === 0;
    port.channels.add(channel);
    this.#flat = undefined;
    this.#closedPins.delete(pin);
    this.#attachedEver = true;
    channel.onActivity = () => this.#onChannelActivity(pin, channel);
    if (first) this.#events.push({ type: 'pin_added', pin });
    this.#notify();
  }

  /** A disconnect or a removed upstream: the channel goes away without ending the stream. */
  detachInput(pin: string, channel: Channel): void {
    const port = this.#inputs.get(pin);
    if (!port || !port.channels.delete(channel)) return;
    this.#flat = undefined;
    channel.detach();
    if (port.channels.size === 0) {
      this.#inputs.delete(pin);
      this.#events.push({ type: 'pin_removed', pin });
    }
    this.#notify();
  }

  attachOutput(pin: string, channel: Channel): void {
    const list = this.#outputs.get(pin);
    if (list) list.push(channel);
    else this.#outputs.set(pin, [channel]);
  }

  detachOutput(pin: string, channel: Channel): void {
    const list = this.#outputs.get(pin);
    if (!list) return;
    const i = list.indexOf(channel);
    if (i >= 0) list.splice(i, 1);
  }

  /** The node ended: downstream drains and then sees its pins closed; upstream stops waiting. */
  closeAll(): void {
    for (const list of this.#outputs.values()) for (const ch of list) ch.close();
    for (const port of this.#inputs.values()) for (const ch of port.channels) ch.detach();
  }

  #onChannelActivity(pin: string, channel: Channel): void {
    if (channel.finished) this.#checkPinClosed(pin);
    this.#notify();
  }

  /** A pin is closed once every channel feeding it has finished; reported once. */
  #checkPinClosed(pin: string): void {
    const port = this.#inputs.get(pin);
    if (!port || this.#closedPins.has(pin)) return;
    for (const c of port.channels) if (!c.finished) return;
    this.#closedPins.add(pin);
    this.#events.push({ type: 'pin_closed', pin });
  }

  #notify(): void {
    const wake = this.#wake;
    if (wake) {
      this.#wake = undefined;
      wake();
    }
  }

  /** Every (pin, channel) pair, flattened once per topology change for the round-robin. */
  #flat: Array<[string, Channel]> | undefined;

  #channels(): Array<[string, Channel]> {
    if (!this.#flat) {
      this.#flat = [];
      for (const p of this.#inputs.values())
        for (const c of p.channels) this.#flat.push([p.pin, c]);
    }
    return this.#flat;
  }

  #nextPacket(): InputEvent | undefined {
    const channels = this.#channels();
    const n = channels.length;
    for (let k = 0; k < n; k++) {
      const idx = (this.#rr + k) % n;
      const entry = channels[idx]!;
      const packet = entry[1].take();
      if (packet !== undefined) {
        this.#rr = idx + 1;
        this.#counters.packets_in++;
        this.hooks.countersChanged();
        if (entry[1].finished) this.#checkPinClosed(entry[0]);
        return { type: 'packet', pin: entry[0], packet };
      }
    }
    return undefined;
  }

  /** True once every channel ever attached (and still attached) has finished. */
  #inputsEnded(): boolean {
    if (!this.#attachedEver) return false;
    let any = false;
    for (const p of this.#inputs.values()) {
      for (const c of p.channels) {
        any = true;
        if (!c.finished) return false;
      }
    }
    return any;
  }

  async #recv(): Promise<InputEvent | null> {
    for (;;) {
      if (this.#stop.signal.stopped) return null;
      const event = this.#events.shift();
      if (event) return event;
      const packet = this.#nextPacket();
      if (packet) return packet;
      if (this.#inputsEnded()) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async #send(pin: string, packet: Packet): Promise<void> {
    this.hooks.output?.(pin, packet);
    const list = this.#outputs.get(pin);
    if (!list || list.length === 0) return;
    this.#counters.packets_out++;
    this.hooks.countersChanged();
    for (const ch of list) {
      for (;;) {
        if (this.#stop.signal.stopped) return;
        const r = ch.offer(packet);
        if (r === 'dropped') {
          if (ch.mode === 'best_effort' && !ch.detached) this.#counters.packets_dropped++;
          break;
        }
        if (r === 'queued') break;
        await Promise.race([ch.waitForSpace(), this.#stop.signal.promise]);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stop.signal.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let offStop = () => {};
      const cancel = this.clock.setTimer(
        () => {
          offStop();
          resolve();
        },
        Math.max(0, ms),
      );
      offStop = this.#stop.signal.onStop(() => {
        cancel();
        resolve();
      });
    });
  }

  async #pace(ptsUs: number): Promise<void> {
    if (this.pacing === 'realtime') {
      const wait = this.#startedAt + ptsUs / 1000 - this.clock.now();
      if (wait > 0) await this.#sleep(wait);
      return;
    }
    if (++this.#unpacedCount % UNPACED_YIELD_EVERY === 0) await this.clock.yieldToHost();
  }
}
