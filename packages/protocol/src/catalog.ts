import type { Result } from './errors';
import type { PinSpec } from './pins';

/** The pins a node of one kind has, given its (parsed) params. */
export interface KindPins {
  inputs: readonly PinSpec[];
  outputs: readonly PinSpec[];
}

/** What validation needs to know about one node kind. */
export interface KindEntry {
  /** The node's pins for these params (params as returned by `parseParams`). */
  pins(params: Record<string, unknown>): KindPins;
  /** Check raw params; `ok` carries them with defaults applied, `error` a human message. */
  parseParams(raw: unknown): Result<Record<string, unknown>, string>;
}

/** The node kinds known to a host; the engine's registry implements it. */
export interface KindCatalog {
  /** The entry for `kind`, or undefined when the kind is unknown. */
  lookup(kind: string): KindEntry | undefined;
}
