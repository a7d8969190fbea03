/**
 * Input versions for the demand cache (X6): a deterministic string for a JSON-like value (object
 * keys sorted) and a 106-bit hash of it. Collisions only cost a stale cache hit, and at this width
 * they are out of reach for any realistic number of edits.
 */

/** JSON text with object keys sorted; `undefined` members are dropped as JSON does. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return `${value}n`;
    return JSON.stringify(value) ?? 'null';
  }
  if (value instanceof Uint8Array) return `bytes:${hashString(Array.from(value).join(','))}`;
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(record[k])}`).join(',')}}`;
}

/** Two independent 53-bit cyrb53 hashes as hex. */
export function hashString(text: string): string {
  return cyrb53(text, 0x9e3779b1).toString(16) + cyrb53(text, 0x85ebca77).toString(16);
}

export function hashValue(value: unknown): string {
  return hashString(stableStringify(value));
}

function cyrb53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
