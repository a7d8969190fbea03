/**
 * Whether a drag from one pin to another may connect (E16: types must match, `any` accepts
 * all). The pins each node shows come from `@patchbay/document`'s layout.
 */
import { findPin, pinTypesCompatible } from '@patchbay/protocol';
import type { Connection, PinSpec } from '@patchbay/protocol';

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
