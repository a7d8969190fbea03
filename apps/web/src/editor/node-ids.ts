/** A fresh node id for `kind`: its last name part and the lowest free number (`gain_2`). */
export function freshNodeId(kind: string, taken: ReadonlySet<string>): string {
  const last = kind.split('::').pop() ?? 'node';
  let base = last.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(base)) base = `n_${base}`;
  for (let i = 1; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
}

/** Where to draw nodes that have no position yet: columns by dependency depth. */
export function autoLayout(
  ids: readonly string[],
  edges: ReadonlyArray<{ from: string; to: string }>,
): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>(ids.map((id) => [id, 0]));
  // Longest-path depth, bounded by the node count so a cycle cannot loop forever.
  for (let round = 0; round < ids.length; round++) {
    let changed = false;
    for (const e of edges) {
      const d = (depth.get(e.from) ?? 0) + 1;
      if (depth.has(e.to) && d > (depth.get(e.to) as number) && d <= ids.length) {
        depth.set(e.to, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const rows = new Map<number, number>();
  const out = new Map<string, { x: number; y: number }>();
  for (const id of ids) {
    const d = depth.get(id) ?? 0;
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    out.set(id, { x: 40 + d * 280, y: 40 + row * 160 });
  }
  return out;
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
