import type { z } from 'zod';
import type { PinSpec, PipelineMode, StopReason, ViewDataCause } from '@patchbay/protocol';
import type { Clock, Logger } from './host';
import type { Packet } from './packets';

/** Inputs and outputs of a node, given its params (a mixer's pins depend on `num_inputs`). */
export interface NodePins {
  inputs: readonly PinSpec[];
  outputs: readonly PinSpec[];
}

/** Host-provided capabilities a node may need (e.g. a thread pool for a compositor kernel). */
export interface EngineServices {
  readonly [name: string]: unknown;
}

/** Cancellation without DOM `AbortSignal`: fires once, then stays fired. */
export interface StopSignal {
  readonly stopped: boolean;
  /** Resolves when the signal fires. */
  readonly promise: Promise<void>;
  /** Calls `listener` once when the signal fires; returns a dispose function. */
  onStop(listener: () => void): () => void;
}

export interface CreateContext<P> {
  readonly nodeId: string;
  readonly kind: string;
  readonly params: P;
  readonly mode: PipelineMode;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly services: EngineServices;
  /** Fires when the creation is no longer wanted (node removed, re-added, engine shut down). */
  readonly signal: StopSignal;
}

/** What `recv()` hands a node: a packet, or a change to its set of input pins. */
export type InputEvent =
  | { type: 'packet'; pin: string; packet: Packet }
  /** A pin got its first connection (dynamic families are created here). */
  | { type: 'pin_added'; pin: string }
  /** A pin lost its last connection by a disconnect or a removed upstream node. */
  | { type: 'pin_removed'; pin: string }
  /** Every upstream of this pin ended its stream; no more packets will come on it. */
  | { type: 'pin_closed'; pin: string };

/** View data stamping (S4/S5): `edit` data carries the version vector; `layout` is never suppressed. */
export type { ViewDataCause };

export interface RunContext<P> {
  readonly nodeId: string;
  readonly mode: PipelineMode;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The latest params; updated before `tune` is called. */
  readonly params: P;
  readonly signal: StopSignal;
  /** Input pins that currently have at least one connection, in connection order. */
  connectedInputs(): string[];
  /**
   * The next input event across all pins (round-robin), or `null` when the node must end:
   * it is stopping, or every connected input is closed (oneshot) / closed after having had
   * packets (dynamic). A node with no inputs at all waits.
   */
  recv(): Promise<InputEvent | null>;
  /** Sends on an output pin to every connection. Waits on full `reliable` links; `best_effort` drops. */
  send(pin: string, packet: Packet): Promise<void>;
  /** Waits `ms` on the engine clock; resolves early when the node is stopping. */
  sleep(ms: number): Promise<void>;
  /**
   * Realtime pacing for sources: waits until `ptsUs` after the node started (dynamic
   * sessions), or just yields now and then (unpaced oneshot runs).
   */
  pace(ptsUs: number): Promise<void>;
  /** Moves between `running`, `degraded{reason}` and `recovering{reason}` (E1). */
  setHealth(status: 'running' | 'degraded' | 'recovering', reason?: string): void;
  /** Merges counters into the node's stats (coalesced for subscribers, E12). */
  stats(values: Readonly<Record<string, number>>): void;
  /** Publishes view data (e.g. a compositor's resolved layout), stamped by the engine (S4/S5). */
  viewData(data: unknown, cause: ViewDataCause): void;
  /** Called after params change (E8: queued tunes are replayed in order before `run`). */
  onTune(listener: (params: P, changed: Readonly<Partial<P>>) => void): () => void;
}

/** A live node. `run` is its body: resolve to stop, throw to fail (E14). */
export interface NodeInstance<P> {
  /** Warm-up before the node goes live (`initializing`), e.g. priming an encoder. */
  initialize?(): Promise<void> | void;
  run(ctx: RunContext<P>): Promise<StopReason | void>;
  /** Frees what `create` or `run` took. Called exactly once, also for discarded creations. */
  dispose?(): Promise<void> | void;
}

/** A node kind: the registry lists these (kind, pins, param JSON Schema, description). */
export interface NodeDefinition<P = unknown> {
  readonly kind: string;
  readonly description: string;
  /** Parses params with defaults; its JSON Schema is what `GET /api/v1/nodes` shows. */
  readonly params: z.ZodType<P>;
  readonly pins: (params: P) => NodePins;
  /** Only allowed in oneshot runs (`io::input`, `io::output`). */
  readonly oneshotOnly?: boolean;
  /** Names of params that hold file paths; the sandbox checks them (E15). */
  readonly pathParams?: readonly string[];
  /** May be slow and async (loading a model); the engine never awaits it on the control loop (E2). */
  create(ctx: CreateContext<P>): NodeInstance<P> | Promise<NodeInstance<P>>;
}

/** Identity helper that keeps `P` inferred from the params schema. */
export function defineNode<P>(definition: NodeDefinition<P>): NodeDefinition<P> {
  return definition;
}

/** True for nodes without input pins: they wait for activation (E10) before `run`. */
export function isSource(pins: NodePins): boolean {
  return pins.inputs.length === 0;
}
