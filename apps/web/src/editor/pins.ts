/**
 * Pins as the canvas shows them, and whether a drag from one pin to another may connect
 * (E16: types must match, `any` accepts all). Family inputs (`in_`) show each connected member
 * plus one free slot; connecting to the slot takes the next free index.
 */
import { findPin, familyIndex, pinTypesCompatible } from '@patchbay/protocol';
import type { Connection, PinSpec, PinType } from '@patchbay/protocol';

/** A pin handle drawn on a node. */
export interface PinHandle {
  /** The concrete pin name (`in_2`), or the family's next free member for the free slot. */
  readonly name: string;
  readonly type: PinType;
  /** The free slot of a family (connecting there allocates `name`). */
  readonly slot: boolean;
}

/** The input handles of a node given the connections into it. */
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

/** The output handles of a node (output families show their first member). */
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

/** Why a connection is refused, or undefined when it may be made. */
export function connectionRefusal(
  from: { readonly node: string; readonly pin: string; readonly outputs: readonly PinSpec[] },
  to: { readonly node: string; readonly pin: string; readonly inputs: readonly PinSpec[] },
  existing: Iterable<Connection>,
): string | undefined {
  if (from.node === to.node) return 'a node cannot feed itself';
  const out = findPin(from.outputs, from.pin);
  if (!out) return `${from.node} has no output ${from.pin}`;
  const input = findPin(to.inputs, to.pin);
  if (!input) return `${to.node} has no input ${to.pin}`;
  if (!pinTypesCompatible(out.type, input.type)) {
    return `${out.type} cannot feed ${input.type} (${from.node}.${from.pin} → ${to.node}.${to.pin})`;
  }
  for (const c of existing) {
    if (c.to.node === to.node && c.to.pin === to.pin) return `${to.node}.${to.pin} is already fed`;
  }
  return undefined;
}
