/** A fresh node id for `kind`: its last name part and the lowest free number (`gain_2`). */
export function freshNodeId(kind: string, taken: ReadonlySet<string>): string {
  const last = kind.split('::').pop() ?? 'node';
  let base = last.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(base)) base = `n_${base}`;
  for (let i = 1; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
}

/** About one drawn node: nodes closer than this (canvas units) overlap. */
const NODE_W = 200;
const NODE_H = 110;

/** `at`, moved down-right in steps until no node in `taken` sits on it (so clicks don't stack nodes). */
export function freePosition(
  at: { x: number; y: number },
  taken: ReadonlyArray<{ x: number; y: number }>,
): { x: number; y: number } {
  let p = { x: Math.round(at.x), y: Math.round(at.y) };
  for (let i = 0; i < 100; i++) {
    if (!taken.some((t) => Math.abs(t.x - p.x) < NODE_W && Math.abs(t.y - p.y) < NODE_H)) return p;
    p = { x: p.x + 30, y: p.y + NODE_H };
  }
  return p;
}
