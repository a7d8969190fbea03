import { z } from 'zod';
import type { KindCatalog, KindEntry, PinSpec, Result } from '@patchbay/protocol';
import type { NodeDefinition, NodePins } from './node-api';

/** What `GET /api/v1/nodes` lists for one kind. */
export interface NodeKindInfo {
  kind: string;
  description: string;
  oneshotOnly: boolean;
  /** Computed on demand (X5) rather than streamed. */
  task: boolean;
  /** Pins for the default params (families show as their prefix with `family: true`). */
  inputs: readonly PinSpec[];
  outputs: readonly PinSpec[];
  paramsSchema: unknown;
}

// Node definitions are stored type-erased: each one parses its own params before use.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyNodeDefinition = NodeDefinition<any>;

/** Kind → definition, with aliases (StreamKit names) resolved to the canonical kind. */
export class NodeRegistry implements KindCatalog {
  readonly #defs = new Map<string, AnyNodeDefinition>();
  readonly #aliases = new Map<string, string>();

  register(def: AnyNodeDefinition): this {
    if (this.#defs.has(def.kind)) throw new Error(`node kind registered twice: ${def.kind}`);
    this.#defs.set(def.kind, def);
    return this;
  }

  alias(alias: string, kind: string): this {
    this.#aliases.set(alias, kind);
    return this;
  }

  /** The canonical kind for a name (aliases resolved), or the name itself. */
  canonical(kind: string): string {
    return this.#aliases.get(kind) ?? kind;
  }

  get(kind: string): AnyNodeDefinition | undefined {
    return this.#defs.get(this.canonical(kind));
  }

  /** The `KindCatalog` view YAML import and validation use. */
  lookup(kind: string): KindEntry | undefined {
    const def = this.get(kind);
    if (!def) return undefined;
    return {
      pins: (params) => def.pins(params),
      parseParams: (raw) => this.parseParams(def, raw),
    };
  }

  kinds(): string[] {
    return [...this.#defs.keys()].sort();
  }

  /** Parses params with the kind's schema (defaults filled); the error names the first bad field. */
  parseParams(def: AnyNodeDefinition, raw: unknown): Result<Record<string, unknown>, string> {
    const r = def.params.safeParse(raw ?? {});
    if (r.success) return { ok: true, value: r.data as Record<string, unknown> };
    const issue = r.error.issues[0];
    const path = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return { ok: false, error: `${path}${issue?.message ?? 'invalid params'}` };
  }

  pinsOf(def: AnyNodeDefinition, params: unknown): NodePins {
    return def.pins(params);
  }

  list(): NodeKindInfo[] {
    return this.kinds().map((kind) => {
      const def = this.#defs.get(kind)!;
      const defaults = def.params.safeParse({});
      const pins: NodePins = defaults.success
        ? def.pins(defaults.data)
        : { inputs: [], outputs: [] };
      return {
        kind,
        description: def.description,
        oneshotOnly: def.oneshotOnly === true,
        task: 'task' in def,
        inputs: pins.inputs,
        outputs: pins.outputs,
        paramsSchema: z.toJSONSchema(def.params, { io: 'input', unrepresentable: 'any' }),
      };
    });
  }
}
