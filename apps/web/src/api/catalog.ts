/** The node catalogue (`GET /api/v1/nodes`) as the studio uses it: palette, pins, forms, YAML checks. */
import { PinSpecSchema, err, familyIndex, ok } from '@patchbay/protocol';
import type { KindCatalog, KindEntry, PinSpec } from '@patchbay/protocol';
import { asSchema, checkValue } from '../editor/json-schema';

/** One node kind as the server describes it. */
export interface NodeKindInfo {
  readonly kind: string;
  readonly description: string;
  readonly oneshotOnly: boolean;
  readonly task: boolean;
  readonly inputs: readonly PinSpec[];
  readonly outputs: readonly PinSpec[];
  readonly paramsSchema: unknown;
}

function pinsOf(value: unknown): PinSpec[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return undefined;
  const out: PinSpec[] = [];
  for (const p of value) {
    const parsed = PinSpecSchema.safeParse(p);
    if (!parsed.success) return undefined;
    out.push(parsed.data);
  }
  return out;
}

function kindInfoOf(value: unknown): NodeKindInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const inputs = pinsOf(v.inputs);
  const outputs = pinsOf(v.outputs);
  if (typeof v.kind !== 'string' || v.kind === '' || !inputs || !outputs) return undefined;
  return {
    kind: v.kind,
    description: typeof v.description === 'string' ? v.description : '',
    oneshotOnly: v.oneshotOnly === true,
    task: v.task === true,
    inputs,
    outputs,
    paramsSchema: v.paramsSchema,
  };
}

/** Read `{nodes: [...]}`; entries that do not parse are skipped rather than failing the palette. */
export function parseNodeCatalog(body: unknown): NodeKindInfo[] {
  const nodes = (body as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(nodes)) return [];
  const out: NodeKindInfo[] = [];
  for (const n of nodes) {
    const info = kindInfoOf(n);
    if (info) out.push(info);
  }
  return out.sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}

/**
 * Pins numbered by a param (`in_0`, `in_1` when `num_inputs: 2`) are listed for the kind's
 * defaults only; read as a family so a pipeline with more of them still validates here (the
 * server checks the exact count).
 */
function widenNumbered(pins: readonly PinSpec[]): PinSpec[] {
  const out: PinSpec[] = [];
  const families = new Set<string>();
  for (const p of pins) {
    const index = p.family ? undefined : familyIndex(p.name);
    if (index === undefined) {
      out.push(p);
      continue;
    }
    const prefix = p.name.slice(0, p.name.length - String(index).length);
    if (families.has(prefix)) continue;
    families.add(prefix);
    out.push({ name: prefix, type: p.type, family: true });
  }
  return out;
}

/** A `KindCatalog` (for protocol's YAML import and validation) over the server's catalogue. */
export function kindCatalogOf(kinds: readonly NodeKindInfo[]): KindCatalog {
  const byKind = new Map(kinds.map((k) => [k.kind, k]));
  return {
    lookup(kind: string): KindEntry | undefined {
      const info = byKind.get(kind);
      if (!info) return undefined;
      const schema = asSchema(info.paramsSchema);
      return {
        pins: () => ({ inputs: widenNumbered(info.inputs), outputs: widenNumbered(info.outputs) }),
        parseParams(raw) {
          const problem = checkValue(raw ?? {}, schema);
          return problem === undefined ? ok((raw ?? {}) as Record<string, unknown>) : err(problem);
        },
      };
    },
  };
}
