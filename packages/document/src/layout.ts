/**
 * How a pipeline is laid out on a canvas: where each node is drawn (its stored position, or a
 * column by dependency depth when it has none) and which pins it shows. The studio's canvas and
 * the server's first paint of a session page both draw from this, so they agree node for node.
 */
import { familyIndex } from '@patchbay/protocol';
import type { Connection, KindPins, PinSpec, PinType, Pipeline } from '@patchbay/protocol';

/** A pin drawn on a node. */
export interface PinHandle {
  /** The concrete pin name (`in_2`), or the family's next free member for the free slot. */
  readonly name: string;
  readonly type: PinType;
  /** The free slot of a family (connecting there allocates `name`). */
  readonly slot: boolean;
}

/**
 * The input pins of a node given the connections into it. Family inputs (`in_`) show each
 * connected member in order plus one free slot.
 */
export function inputHandles(
  inputs: readonly PinSpec[],
  nodeId: string,
  connections: Iterable<Connection>,
): PinHandle[] {
  const used = new Set<string>();
  for (const c of connections) if (c.to.node === nodeId) used.add(c.to.pin);
  const out: PinHandle[] = [];
  for (const spec of inputs) {
    if (!spec.family) {
      out.push({ name: spec.name, type: spec.type, slot: false });
      continue;
    }
    const members = [...used]
      .filter((p) => p.startsWith(spec.name) && familyIndex(p) !== undefined)
      .sort((a, b) => (familyIndex(a) as number) - (familyIndex(b) as number));
    for (const m of members) out.push({ name: m, type: spec.type, slot: false });
    out.push({ name: nextFamilyMember(spec.name, used), type: spec.type, slot: true });
  }
  return out;
}

/** The output pins of a node (output families show their first member). */
export function outputHandles(outputs: readonly PinSpec[]): PinHandle[] {
  return outputs.map((p) => ({
    name: p.family ? `${p.name}0` : p.name,
    type: p.type,
    slot: false,
  }));
}

/** The lowest `prefix<N>` not in `used`. */
export function nextFamilyMember(prefix: string, used: ReadonlySet<string>): string {
  for (let i = 0; ; i++) if (!used.has(`${prefix}${i}`)) return `${prefix}${i}`;
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

/**
 * A node's drawn size before it is measured: the studio's stylesheet makes `.pb-node` 170 px wide
 * at least, its head and kind line 38 px tall, each pin row 17 px, and 7 px below the last row.
 */
const NODE_WIDTH_PX = 170;
const PINS_TOP_PX = 38;
const PIN_ROW_PX = 17;
const NODE_BOTTOM_PX = 7;
/** A pin's handle is 10 px square, centred on the node's 1 px border. */
const HANDLE_PX = 10;
const BORDER_PX = 1;

/** One node as a canvas draws it. */
export interface LaidOutNode {
  readonly id: string;
  readonly kind: string;
  readonly position: { readonly x: number; readonly y: number };
  /** False when the catalogue does not know the kind (an empty catalogue knows every kind). */
  readonly known: boolean;
  readonly inputs: readonly PinHandle[];
  readonly outputs: readonly PinHandle[];
  /** The size it is expected to draw at (a long id or kind can make it wider). */
  readonly size: { readonly width: number; readonly height: number };
}

/**
 * A pin's handle on a node that has not been drawn, as React Flow measures a drawn one: its box
 * relative to the node's top-left corner, on the left edge for an input and the right edge for an
 * output, in the pin's row (the rows follow the head; a node's error or token stream is below
 * them).
 */
export interface ExpectedHandle {
  readonly pin: string;
  readonly side: 'in' | 'out';
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Every pin's handle of `node`, inputs first. */
export function expectedHandles(node: LaidOutNode): ExpectedHandle[] {
  const handle = (pin: string, side: 'in' | 'out', row: number): ExpectedHandle => ({
    pin,
    side,
    x: (side === 'in' ? BORDER_PX : node.size.width - BORDER_PX) - HANDLE_PX / 2,
    y: PINS_TOP_PX + PIN_ROW_PX * (row + 0.5) - HANDLE_PX / 2,
    width: HANDLE_PX,
    height: HANDLE_PX,
  });
  return [
    ...node.inputs.map((p, row) => handle(p.name, 'in', row)),
    ...node.outputs.map((p, row) => handle(p.name, 'out', row)),
  ];
}

/**
 * Where a connection meets a pin of a node that has not been drawn, in canvas units: the outer
 * edge of its handle, at the middle of the pin's row (where React Flow ends an edge). An unknown
 * pin is taken as the side's first.
 */
export function expectedPinAnchor(
  node: LaidOutNode,
  pin: string,
  side: 'in' | 'out',
): { x: number; y: number } {
  const handles = expectedHandles(node).filter((h) => h.side === side);
  const h = handles.find((c) => c.pin === pin) ?? handles[0];
  if (!h) return { x: node.position.x, y: node.position.y };
  return {
    x: node.position.x + h.x + (side === 'out' ? h.width : 0),
    y: node.position.y + h.y + h.height / 2,
  };
}

/** Every node of the pipeline, in the document's order, placed and with the pins it shows. */
export function layOutNodes(
  pipeline: Pipeline,
  connections: readonly Connection[],
  kinds: ReadonlyMap<string, KindPins>,
): LaidOutNode[] {
  const ids = Object.keys(pipeline.nodes);
  const auto = ids.some((id) => !pipeline.nodes[id]?.position)
    ? autoLayout(
        ids,
        connections.map((c) => ({ from: c.from.node, to: c.to.node })),
      )
    : undefined;
  return ids.map((id) => {
    const node = pipeline.nodes[id] as Pipeline['nodes'][string];
    const pins = kinds.get(node.kind);
    const inputs = pins ? inputHandles(pins.inputs, id, connections) : [];
    const outputs = pins ? outputHandles(pins.outputs) : [];
    return {
      id,
      kind: node.kind,
      position: node.position ?? auto?.get(id) ?? { x: 0, y: 0 },
      known: pins !== undefined || kinds.size === 0,
      inputs,
      outputs,
      size: {
        width: NODE_WIDTH_PX,
        height: PINS_TOP_PX + PIN_ROW_PX * Math.max(inputs.length, outputs.length) + NODE_BOTTOM_PX,
      },
    };
  });
}
