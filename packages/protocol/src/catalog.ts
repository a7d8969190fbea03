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

/** The palette category of a kind: the prefix before the first `::` (`video::compositor` → `video`). */
export function kindCategory(kind: string): string {
  const at = kind.indexOf('::');
  return at <= 0 ? 'other' : kind.slice(0, at);
}

/**
 * Kinds grouped by category (categories sorted, kinds in the order given), filtered by a search
 * over kind and description: the studio's palette, and the server's first paint of it.
 */
export function groupKinds<K extends { readonly kind: string; readonly description: string }>(
  kinds: readonly K[],
  search = '',
): Array<{ category: string; kinds: K[] }> {
  const q = search.trim().toLowerCase();
  const groups = new Map<string, K[]>();
  for (const k of kinds) {
    if (q !== '' && !k.kind.toLowerCase().includes(q) && !k.description.toLowerCase().includes(q))
      continue;
    const c = kindCategory(k.kind);
    const list = groups.get(c);
    if (list) list.push(k);
    else groups.set(c, [k]);
  }
  return [...groups.keys()].sort().map((category) => ({
    category,
    kinds: groups.get(category) as K[],
  }));
}
