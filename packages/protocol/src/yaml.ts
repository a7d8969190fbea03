/*
 * Pipeline YAML: import (text → Pipeline, every problem reported), export (Pipeline → text,
 * deterministic), and the structural checks both share (`validatePipeline`).
 *
 * The format is StreamKit's (streamer45/streamkit: crates/api/src/yaml/mod.rs, compiler.rs and
 * samples/pipelines/**), so its samples load unchanged where the kinds exist. What it does:
 * - Top level: `name`, `description`, `mode` (dynamic | oneshot, default dynamic), then either
 *   `steps` (a list of {kind, params}) or `nodes` (a map id → {kind, params, needs}). It also
 *   carries UI/discovery metadata (`client`, `group`, `variant`, `category`, `tags`); those are
 *   accepted and ignored here (the durable model has no place for them).
 * - `steps` become nodes `step_0`, `step_1`, …; step i gets `step_{i-1}.out → step_i.in`.
 * - `needs` is a string, an object `{node, mode}` (mode reliable | best_effort, default
 *   reliable), a list of those, or a map input pin → dependency (`needs: {in: a, in_1: b}`).
 *   One dependency feeds `in`; a list of several feeds `in_0`, `in_1`, … in list order (a list
 *   of one feeds `in`). The upstream pin is `out` unless the dependency says `node.pin`
 *   (`needs: uploads.track_a`, `{node: moq_peer.out_1}`).
 * - StreamKit allows cycles through `transport::moq::peer` (bidirectional); Patchbay rejects
 *   every cycle. StreamKit's compiler injects `audio::mixer {num_inputs}` in oneshot mode; we
 *   keep params exactly as written (so export does not grow defaults).
 * Patchbay additions: a dependency object may name the upstream pin and the input pin
 * explicitly, `{node, pin?, to?, mode?}`, so every model can be exported and re-imported;
 * nodes may carry an editor `position: {x, y}`. Patchbay ids may contain `.` but pin names
 * cannot, so a `needs` string that names an existing node is that node; otherwise it splits at
 * its last `.`. Export never writes the dotted form (it uses `{node, pin}`). With a catalog, a
 * single dependency of a kind that has no `in` pin but an `in_` family lands on `in_0`.
 */
import { Composer, LineCounter, Parser, stringify } from 'yaml';
import type { CST, Document } from 'yaml';
import type { KindCatalog, KindPins } from './catalog';
import { err, ok, problem } from './errors';
import type { ErrorCode, Problem, Result } from './errors';
import { findPin, pinTypesCompatible } from './pins';
import type { ConnectionMode, PinSpec } from './pins';
import { NodeIdSchema, PinNameSchema, connectionId } from './pipeline';
import type { Connection, Pipeline, PipelineMode, PipelineNode, Position } from './pipeline';

/** StreamKit kind names that import as Patchbay kinds. */
export const STREAMKIT_KIND_ALIASES: Readonly<Record<string, string>> = {
  'streamkit::http_input': 'io::input',
  'streamkit::http_output': 'io::output',
};

/**
 * Deepest collection nesting import accepts. The `yaml` composer recurses per level and
 * relies on catching the stack overflow; V8 aborts the whole process instead when that
 * overflow lands inside a regexp compile, so depth is checked on the (iterative) CST first.
 */
export const YAML_MAX_NESTING = 128;

/** At most this many YAML syntax errors are listed (garbage input yields hundreds). */
const MAX_SYNTAX_PROBLEMS = 20;

const DEFAULT_OUT = 'out';
const DEFAULT_IN = 'in';
const FAMILY_IN = 'in_';
const STEP_PREFIX = 'step_';

/** StreamKit's top-level metadata: accepted, not modelled. Other unknown keys are typos. */
const IGNORED_TOP_KEYS = new Set(['client', 'group', 'variant', 'category', 'tags']);
const TOP_KEYS = new Set(['name', 'description', 'mode', 'nodes', 'steps']);
const NODE_KEYS = new Set(['kind', 'params', 'needs', 'position']);
const STEP_KEYS = new Set(['kind', 'params']);
const NEED_KEYS = new Set(['node', 'pin', 'to', 'mode']);
const MODES: readonly string[] = ['dynamic', 'oneshot'];
const CONNECTION_MODES: readonly string[] = ['reliable', 'best_effort'];

// Deterministic output: no folding, no anchors, fixed scalar styles.
const STRINGIFY_OPTIONS = {
  version: '1.2',
  schema: 'core',
  indent: 2,
  indentSeq: true,
  lineWidth: 0,
  minContentWidth: 0,
  aliasDuplicateObjects: false,
  sortMapEntries: false,
  keepUndefined: false,
  defaultStringType: 'PLAIN',
  defaultKeyType: null,
  doubleQuotedAsJSON: false,
  nullStr: 'null',
  trueStr: 'true',
  falseStr: 'false',
  flowCollectionPadding: true,
  simpleKeys: false,
  directives: false,
} as const;

// ---------------------------------------------------------------------------------------------
// Small helpers

type PlainRecord = Record<string, unknown>;

function isRecord(value: unknown): value is PlainRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function has(record: object, key: string): boolean {
  return Object.hasOwn(record, key);
}

function get(record: PlainRecord, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Code-unit order: locale-independent, so exports are identical on every host. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a map';
  return `a ${typeof value}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}…` : value}'`;
  return typeName(value);
}

function isNodeId(id: string): boolean {
  return NodeIdSchema.safeParse(id).success;
}

function isPinName(pin: string): boolean {
  return PinNameSchema.safeParse(pin).success;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Build a record from entries without any key (`__proto__` included) touching the prototype. */
function recordOf<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  return Object.fromEntries(entries) as Record<string, T>;
}

// ---------------------------------------------------------------------------------------------
// Transient metadata (behaviour S3)

/** A deep copy of `value` without any `_`-prefixed map key at any depth (S3). */
export function stripTransient<T>(value: T): T {
  return strip(value) as T;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (isRecord(value)) {
    const entries: Array<[string, unknown]> = [];
    for (const key of Object.keys(value)) {
      if (!key.startsWith('_')) entries.push([key, strip(value[key])]);
    }
    return recordOf(entries);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Validation shared by import and JSON models

interface CheckOptions {
  /** Ids declared in the source even if their node could not be built (no unknown_node noise). */
  declared?: ReadonlySet<string>;
  /** Import reports bad ids itself, with its own code. */
  checkIds: boolean;
}

/** Pins of a node per the catalog; undefined when unknown kind or bad params. */
function nodePins(node: PipelineNode, catalog: KindCatalog | undefined): KindPins | undefined {
  if (!catalog) return undefined;
  const entry = catalog.lookup(node.kind);
  if (!entry) return undefined;
  const parsed = entry.parseParams(node.params);
  return parsed.ok ? entry.pins(parsed.value) : undefined;
}

/**
 * Structural checks on a pipeline model: bad ids, unknown nodes in connections,
 * self-references, cycles and, with a catalog, unknown kinds, bad params, unknown pins and
 * incompatible pin types (E16). Every problem is reported.
 */
export function validatePipeline(p: Pipeline, catalog?: KindCatalog): Problem[] {
  return checkModel(p, catalog, { checkIds: true });
}

function checkModel(p: Pipeline, catalog: KindCatalog | undefined, opts: CheckOptions): Problem[] {
  const problems: Problem[] = [];
  const nodes = new Map(Object.entries(p.nodes));
  const ids = [...nodes.keys()].sort(compareStrings);
  const exists = (id: string): boolean => nodes.has(id) || (opts.declared?.has(id) ?? false);

  const pins = new Map<string, KindPins>();
  for (const id of ids) {
    const node = nodes.get(id) as PipelineNode;
    if (opts.checkIds && !isNodeId(id)) {
      problems.push(
        problem(
          'bad_request',
          `node '${id}': ids start with a letter or _ and use letters, digits, _ - .`,
          id,
        ),
      );
    }
    if (!catalog) continue;
    const entry = catalog.lookup(node.kind);
    if (!entry) {
      problems.push(problem('unknown_kind', `node '${id}': unknown kind '${node.kind}'`, id));
      continue;
    }
    const parsed = entry.parseParams(node.params);
    if (!parsed.ok) {
      problems.push(
        problem('bad_params', `node '${id}' (${node.kind}): bad params: ${parsed.error}`, id),
      );
      continue;
    }
    pins.set(id, entry.pins(parsed.value));
  }

  const connections = Object.entries(p.connections).sort(([a], [b]) => compareStrings(a, b));
  const edges = new Map<string, Set<string>>();
  for (const [, c] of connections) {
    const from = c.from.node;
    const to = c.to.node;
    const label = `${from}.${c.from.pin} → ${to}.${c.to.pin}`;
    if (opts.checkIds && (!isPinName(c.from.pin) || !isPinName(c.to.pin))) {
      problems.push(
        problem('bad_request', `node '${to}': bad pin name in connection ${label}`, to),
      );
    }
    if (from === to) {
      problems.push(problem('self_reference', `node '${to}' needs itself (${label})`, to));
      continue;
    }
    let known = true;
    if (!exists(to)) {
      problems.push(problem('unknown_node', `connection ${label}: unknown node '${to}'`, to));
      known = false;
    }
    if (!exists(from)) {
      problems.push(problem('unknown_node', `node '${to}' needs unknown node '${from}'`, to));
      known = false;
    }
    if (!known) continue;
    let out = edges.get(from);
    if (!out) edges.set(from, (out = new Set()));
    out.add(to);

    const fromPins = pins.get(from);
    const toPins = pins.get(to);
    let outSpec: PinSpec | undefined;
    let inSpec: PinSpec | undefined;
    if (fromPins) {
      outSpec = findPin(fromPins.outputs, c.from.pin);
      if (!outSpec) {
        const kind = nodes.get(from)?.kind ?? '?';
        problems.push(
          problem(
            'unknown_pin',
            `node '${to}' needs '${from}.${c.from.pin}': ${kind} has no output pin '${c.from.pin}'`,
            to,
          ),
        );
      }
    }
    if (toPins) {
      inSpec = findPin(toPins.inputs, c.to.pin);
      if (!inSpec) {
        const kind = nodes.get(to)?.kind ?? '?';
        problems.push(
          problem(
            'unknown_pin',
            `node '${to}' (${kind}) has no input pin '${c.to.pin}' (${label})`,
            to,
          ),
        );
      }
    }
    if (outSpec && inSpec && !pinTypesCompatible(outSpec.type, inSpec.type)) {
      problems.push(
        problem(
          'pin_type_mismatch',
          `node '${to}': pin '${c.to.pin}' takes ${inSpec.type} but '${from}.${c.from.pin}' gives ${outSpec.type}`,
          to,
        ),
      );
    }
  }

  for (const cycle of findCycles(edges)) {
    problems.push(problem('cycle', cycle.message, cycle.node));
  }
  return problems;
}

/** Tarjan's strongly connected components, iterative (no recursion depth limit). */
function stronglyConnected(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const vertices = new Set<string>();
  for (const [from, tos] of edges) {
    vertices.add(from);
    for (const to of tos) vertices.add(to);
  }
  const sortedNeighbours = new Map<string, string[]>();
  for (const v of vertices) sortedNeighbours.set(v, [...(edges.get(v) ?? [])].sort(compareStrings));

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  for (const root of [...vertices].sort(compareStrings)) {
    if (index.has(root)) continue;
    const work: Array<{ v: string; next: number }> = [{ v: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter);
    counter++;
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { v: string; next: number };
      const neighbours = sortedNeighbours.get(frame.v) ?? [];
      if (frame.next < neighbours.length) {
        const w = neighbours[frame.next++] as string;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter);
          counter++;
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.v, Math.min(low.get(frame.v) as number, index.get(w) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent)
        low.set(parent.v, Math.min(low.get(parent.v) as number, low.get(frame.v) as number));
      if (low.get(frame.v) === index.get(frame.v)) {
        const component: string[] = [];
        let w: string | undefined;
        do {
          w = stack.pop() as string;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.v);
        components.push(component);
      }
    }
  }
  return components;
}

/** One report per cyclic group: a concrete cycle through its smallest id, in edge order. */
function findCycles(
  edges: ReadonlyMap<string, ReadonlySet<string>>,
): Array<{ node: string; message: string }> {
  const reports: Array<{ node: string; message: string }> = [];
  for (const component of stronglyConnected(edges)) {
    if (component.length < 2) continue;
    const members = new Set(component);
    const sorted = [...component].sort(compareStrings);
    const start = sorted[0] as string;
    // Breadth-first inside the group: the shortest way from `start` back to itself.
    const previous = new Map<string, string>();
    const queue = [start];
    let closing: string | undefined;
    for (let i = 0; i < queue.length && closing === undefined; i++) {
      const v = queue[i] as string;
      for (const w of [...(edges.get(v) ?? [])].sort(compareStrings)) {
        if (!members.has(w)) continue;
        if (w === start) {
          closing = v;
          break;
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const path: string[] = [];
    for (let v: string | undefined = closing; v !== undefined && v !== start; v = previous.get(v))
      path.push(v);
    path.push(start);
    path.reverse();
    const cycle = [...path, start].join(' -> ');
    const extra = component.length > path.length ? ` (cycle group: ${sorted.join(', ')})` : '';
    reports.push({ node: start, message: `node '${start}' is in a cycle: ${cycle}${extra}` });
  }
  return reports.sort((a, b) => compareStrings(a.node, b.node));
}

// ---------------------------------------------------------------------------------------------
// Import

interface ReadYaml {
  data: unknown;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** True when some collection in the CST is nested deeper than `limit` (iterative walk). */
function cstTooDeep(tokens: readonly CST.Token[], limit: number): boolean {
  const work: Array<{ token: CST.Token; depth: number }> = tokens.map((token) => ({
    token,
    depth: 0,
  }));
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const { token, depth } = item;
    switch (token.type) {
      case 'document':
        if (token.value) work.push({ token: token.value, depth });
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        if (depth >= limit) return true;
        for (const entry of token.items) {
          if (entry.key) work.push({ token: entry.key, depth: depth + 1 });
          if (entry.value) work.push({ token: entry.value, depth: depth + 1 });
        }
        break;
      default:
        break;
    }
  }
  return false;
}

/** True when a JS value is nested deeper than `limit` (aliases can deepen it past the CST). */
function valueTooDeep(value: unknown, limit: number): boolean {
  const seenAt = new Map<object, number>();
  const work: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const v = item.value;
    if (typeof v !== 'object' || v === null) continue;
    if (item.depth >= limit) return true;
    const before = seenAt.get(v);
    if (before !== undefined && before >= item.depth) continue;
    seenAt.set(v, item.depth);
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const child of children) work.push({ value: child, depth: item.depth + 1 });
  }
  return false;
}

function yamlProblem(lines: LineCounter, pos: readonly number[], message: string): Problem {
  const offset = pos[0] ?? -1;
  if (offset < 0) return problem('bad_yaml', `YAML error: ${message}`);
  const { line, col } = lines.linePos(offset);
  return problem('bad_yaml', `YAML error at line ${line}, column ${col}: ${message}`);
}

function readYaml(text: string): Result<ReadYaml, Problem[]> {
  const lines = new LineCounter();
  try {
    const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
    if (cstTooDeep(tokens, YAML_MAX_NESTING)) {
      return err([problem('bad_yaml', `YAML is nested more than ${YAML_MAX_NESTING} levels deep`)]);
    }
    const composer = new Composer({
      version: '1.2',
      schema: 'core',
      uniqueKeys: true,
      logLevel: 'silent',
    });
    const docs = Array.from(composer.compose(tokens, true, text.length));
    const doc = docs[0];
    if (!doc) return err([problem('bad_yaml', 'YAML error: empty input')]);
    const issues = [...doc.errors, ...doc.warnings];
    if (docs.length > 1) {
      issues.push(...docs.slice(1).flatMap((d) => [...d.errors, ...d.warnings]));
    }
    const problems = issues
      .slice(0, MAX_SYNTAX_PROBLEMS)
      .map((e) => yamlProblem(lines, e.pos, `${e.message} (${e.code})`));
    if (issues.length > MAX_SYNTAX_PROBLEMS) {
      problems.push(
        problem('bad_yaml', `… and ${issues.length - MAX_SYNTAX_PROBLEMS} more YAML errors`),
      );
    }
    if (docs.length > 1) {
      const second = docs[1] as Document.Parsed;
      problems.push(
        yamlProblem(lines, second.range, 'a pipeline is one YAML document, found several'),
      );
    }
    if (problems.length > 0) return err(problems);
    const data: unknown = doc.toJS({ maxAliasCount: 100 });
    if (valueTooDeep(data, YAML_MAX_NESTING)) {
      return err([problem('bad_yaml', `YAML is nested more than ${YAML_MAX_NESTING} levels deep`)]);
    }
    return ok({ data, doc, lines });
  } catch (e) {
    // The yaml library throws on alias bombs and unresolvable aliases: still just bad input.
    return err([problem('bad_yaml', `YAML error: ${errorMessage(e)}`)]);
  }
}

/** Line of each node key (`nodes:` map) or step item (`steps:` list), for messages. */
function nodeLines(read: ReadYaml): Map<string, number> {
  const result = new Map<string, number>();
  const { doc, lines } = read;
  const lineOf = (range: readonly number[] | null | undefined): number | undefined =>
    range && range[0] !== undefined ? lines.linePos(range[0]).line : undefined;
  const nodes: unknown = doc.get('nodes', true);
  if (nodes && typeof nodes === 'object' && 'items' in nodes && Array.isArray(nodes.items)) {
    for (const item of nodes.items as unknown[]) {
      if (!item || typeof item !== 'object' || !('key' in item)) {
        // A list (`nodes: [...]`) has no ids; wrong shape is reported elsewhere.
        continue;
      }
      const key = item.key as { value?: unknown; range?: number[] } | null;
      const line = lineOf(key?.range);
      if (key && line !== undefined) result.set(String(key.value), line);
    }
  }
  const steps: unknown = doc.get('steps', true);
  if (steps && typeof steps === 'object' && 'items' in steps && Array.isArray(steps.items)) {
    (steps.items as unknown[]).forEach((item, i) => {
      const line = lineOf((item as { range?: number[] } | null)?.range);
      if (line !== undefined) result.set(`${STEP_PREFIX}${i}`, line);
    });
  }
  return result;
}

/** One written dependency, before its input pin is decided. */
interface NeedItem {
  ref: string;
  /** `pin` was given, so `ref` is an id as written (no `node.pin` splitting). */
  literal: boolean;
  pin: string | undefined;
  to: string | undefined;
  mode: ConnectionMode;
}

interface DraftNode {
  id: string;
  node: PipelineNode | undefined;
  /** Dependencies and how many the form had (one → `in`, several → `in_<index>`). */
  needs: NeedItem[];
  total: number;
}

class Importer {
  readonly problems: Problem[] = [];
  constructor(private readonly catalog: KindCatalog | undefined) {}

  report(code: ErrorCode, message: string, node?: string): void {
    this.problems.push(
      problem(code, node === undefined ? message : `node '${node}': ${message}`, node),
    );
  }

  optionalString(top: PlainRecord, key: string): string | undefined {
    const value = get(top, key);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    this.report('bad_yaml', `'${key}' must be text, not ${typeName(value)}`);
    return undefined;
  }

  kind(raw: PlainRecord, id: string): string | undefined {
    const kind = get(raw, 'kind');
    if (typeof kind === 'string' && kind.length > 0) {
      return Object.hasOwn(STREAMKIT_KIND_ALIASES, kind)
        ? (STREAMKIT_KIND_ALIASES[kind] as string)
        : kind;
    }
    this.report(
      'bad_yaml',
      kind === undefined || kind === null ? 'missing kind' : `kind must be text, not ${show(kind)}`,
      id,
    );
    return undefined;
  }

  params(raw: PlainRecord, id: string): PlainRecord | undefined {
    const params = get(raw, 'params');
    if (params === undefined || params === null) return {};
    if (isRecord(params)) return params;
    this.report('bad_params', `params must be a map, not ${typeName(params)}`, id);
    return undefined;
  }

  position(raw: PlainRecord, id: string): Position | undefined | false {
    const position = get(raw, 'position');
    if (position === undefined || position === null) return undefined;
    if (isRecord(position)) {
      const x = get(position, 'x');
      const y = get(position, 'y');
      const extra = Object.keys(position).filter((k) => k !== 'x' && k !== 'y');
      if (
        typeof x === 'number' &&
        Number.isFinite(x) &&
        typeof y === 'number' &&
        Number.isFinite(y) &&
        extra.length === 0
      ) {
        return { x, y };
      }
    }
    this.report('bad_yaml', 'position must be {x, y} with finite numbers', id);
    return false;
  }

  unknownKeys(raw: PlainRecord, allowed: ReadonlySet<string>, id: string, what: string): void {
    for (const key of Object.keys(raw)) {
      if (!allowed.has(key))
        this.report(
          'bad_yaml',
          `unknown ${what} key '${key}' (allowed: ${[...allowed].join(', ')})`,
          id,
        );
    }
  }

  /** `needs` in any of its shapes; reports shape problems and returns what could be read. */
  needs(value: unknown, id: string): { items: NeedItem[]; total: number } {
    if (value === undefined || value === null) return { items: [], total: 0 };
    if (typeof value === 'string' || (isRecord(value) && has(value, 'node'))) {
      const item = this.needItem(value, id, undefined);
      return { items: item ? [item] : [], total: 1 };
    }
    if (Array.isArray(value)) {
      const items: NeedItem[] = [];
      for (const entry of value) {
        const item = this.needItem(entry, id, undefined);
        if (item) items.push(item);
      }
      // Auto pins follow list positions, so a bad item still counts (no silent renumbering).
      return { items, total: value.length };
    }
    if (isRecord(value)) {
      // StreamKit's map form: input pin → dependency.
      const items: NeedItem[] = [];
      for (const [to, entry] of Object.entries(value)) {
        if (!isPinName(to)) {
          this.report('bad_yaml', `needs: '${to}' is not a pin name`, id);
          continue;
        }
        const item = this.needItem(entry, id, to);
        if (item) items.push(item);
      }
      return { items, total: items.length };
    }
    this.report('bad_yaml', `needs must be a node id, a list or a map, not ${typeName(value)}`, id);
    return { items: [], total: 0 };
  }

  needItem(value: unknown, id: string, mapPin: string | undefined): NeedItem | undefined {
    if (typeof value === 'string') {
      if (value.length === 0) {
        this.report('bad_yaml', 'needs: empty node id', id);
        return undefined;
      }
      return { ref: value, literal: false, pin: undefined, to: mapPin, mode: 'reliable' };
    }
    if (!isRecord(value)) {
      this.report(
        'bad_yaml',
        `needs: an item must be a node id or {node, pin?, to?, mode?}, not ${typeName(value)}`,
        id,
      );
      return undefined;
    }
    let bad = false;
    for (const key of Object.keys(value)) {
      if (!NEED_KEYS.has(key)) {
        this.report('bad_yaml', `needs: unknown key '${key}' (allowed: node, pin, to, mode)`, id);
        bad = true;
      }
    }
    const node = get(value, 'node');
    const pin = get(value, 'pin');
    const to = get(value, 'to');
    const mode = get(value, 'mode');
    if (typeof node !== 'string' || node.length === 0) {
      this.report('bad_yaml', `needs: 'node' must be a node id, not ${show(node)}`, id);
      bad = true;
    }
    for (const [key, pinValue] of [
      ['pin', pin],
      ['to', to],
    ] as const) {
      if (pinValue !== undefined && (typeof pinValue !== 'string' || !isPinName(pinValue))) {
        this.report('bad_yaml', `needs: '${key}' must be a pin name, not ${show(pinValue)}`, id);
        bad = true;
      }
    }
    if (mode !== undefined && (typeof mode !== 'string' || !CONNECTION_MODES.includes(mode))) {
      this.report('bad_yaml', `needs: mode must be reliable or best_effort, not ${show(mode)}`, id);
      bad = true;
    }
    if (mapPin !== undefined && to !== undefined && to !== mapPin) {
      this.report('bad_yaml', `needs: '${mapPin}' says to: ${show(to)}`, id);
      bad = true;
    }
    if (bad) return undefined;
    return {
      ref: node as string,
      literal: pin !== undefined,
      pin: pin as string | undefined,
      to: (to as string | undefined) ?? mapPin,
      mode: (mode as ConnectionMode | undefined) ?? 'reliable',
    };
  }

  /** Where a single dependency lands: `in`, or `in_0` when the kind only has an `in_` family. */
  singleInput(node: PipelineNode | undefined): string {
    const pins = node ? nodePins(node, this.catalog) : undefined;
    if (!pins) return DEFAULT_IN;
    const hasStatic = pins.inputs.some((p) => !p.family && p.name === DEFAULT_IN);
    const hasFamily = pins.inputs.some((p) => p.family && p.name === FAMILY_IN);
    return !hasStatic && hasFamily ? `${FAMILY_IN}0` : DEFAULT_IN;
  }

  /** Resolve a written dependency to (node, upstream pin) against the declared ids. */
  resolve(item: NeedItem, ids: ReadonlySet<string>): { node: string; pin: string } {
    if (item.literal || ids.has(item.ref)) return { node: item.ref, pin: item.pin ?? DEFAULT_OUT };
    const dot = item.ref.lastIndexOf('.');
    if (dot > 0) {
      const node = item.ref.slice(0, dot);
      const pin = item.ref.slice(dot + 1);
      if (ids.has(node) && isPinName(pin)) return { node, pin };
    }
    return { node: item.ref, pin: DEFAULT_OUT };
  }

  run(data: unknown): { pipeline: Pipeline; declared: Set<string> } | undefined {
    if (!isRecord(data)) {
      this.report(
        'bad_yaml',
        `a pipeline must be a YAML map with name, mode and nodes or steps, not ${typeName(data)}`,
      );
      return undefined;
    }
    for (const key of Object.keys(data)) {
      if (!TOP_KEYS.has(key) && !IGNORED_TOP_KEYS.has(key)) {
        this.report(
          'bad_yaml',
          `unknown top-level key '${key}' (expected name, description, mode, nodes or steps)`,
        );
      }
    }
    const name = this.optionalString(data, 'name');
    const description = this.optionalString(data, 'description');
    let mode: PipelineMode = 'dynamic';
    const rawMode = get(data, 'mode');
    if (rawMode !== undefined && rawMode !== null) {
      if (typeof rawMode === 'string' && MODES.includes(rawMode)) mode = rawMode as PipelineMode;
      else this.report('bad_yaml', `mode must be dynamic or oneshot, not ${show(rawMode)}`);
    }

    const rawNodes = get(data, 'nodes');
    const rawSteps = get(data, 'steps');
    const hasNodes = rawNodes !== undefined && rawNodes !== null;
    const hasSteps = rawSteps !== undefined && rawSteps !== null;
    if (hasNodes && hasSteps) this.report('bad_yaml', 'give either nodes or steps, not both');

    const drafts =
      hasSteps && !hasNodes ? this.steps(rawSteps) : this.nodes(hasNodes ? rawNodes : {});
    const declared = new Set(drafts.map((d) => d.id));

    const nodes: Array<[string, PipelineNode]> = [];
    const connections: Array<[string, Connection]> = [];
    const seen = new Set<string>();
    for (const draft of drafts) {
      if (draft.node) nodes.push([draft.id, draft.node]);
      draft.needs.forEach((item, index) => {
        const from = this.resolve(item, declared);
        const to =
          item.to ?? (draft.total === 1 ? this.singleInput(draft.node) : `${FAMILY_IN}${index}`);
        const c: Connection = { from, to: { node: draft.id, pin: to }, mode: item.mode };
        const cid = connectionId(c);
        if (seen.has(cid)) {
          this.report(
            'duplicate_connection',
            `needs '${from.node}.${from.pin}' → '${to}' twice`,
            draft.id,
          );
          return;
        }
        seen.add(cid);
        connections.push([cid, c]);
      });
    }
    const pipeline: Pipeline = { mode, nodes: recordOf(nodes), connections: recordOf(connections) };
    if (name !== undefined) pipeline.name = name;
    if (description !== undefined) pipeline.description = description;
    return { pipeline, declared };
  }

  nodes(raw: unknown): DraftNode[] {
    if (!isRecord(raw)) {
      this.report(
        'bad_yaml',
        `nodes must be a map of id → {kind, params, needs}, not ${typeName(raw)}`,
      );
      return [];
    }
    const drafts: DraftNode[] = [];
    for (const [id, value] of Object.entries(raw)) {
      if (!isNodeId(id)) {
        this.report(
          'bad_yaml',
          `bad id: ids start with a letter or _ and use letters, digits, _ - . (at most 128 characters)`,
          id,
        );
      }
      if (!isRecord(value)) {
        this.report(
          'bad_yaml',
          `a node must be a map with kind, params, needs, not ${typeName(value)}`,
          id,
        );
        drafts.push({ id, node: undefined, needs: [], total: 0 });
        continue;
      }
      this.unknownKeys(value, NODE_KEYS, id, 'node');
      const kind = this.kind(value, id);
      const params = this.params(value, id);
      const position = this.position(value, id);
      const { items, total } = this.needs(get(value, 'needs'), id);
      let node: PipelineNode | undefined;
      if (kind !== undefined && params !== undefined && position !== false) {
        node = position === undefined ? { kind, params } : { kind, params, position };
      }
      drafts.push({ id, node, needs: items, total });
    }
    return drafts;
  }

  steps(raw: unknown): DraftNode[] {
    if (!Array.isArray(raw)) {
      this.report('bad_yaml', `steps must be a list of {kind, params}, not ${typeName(raw)}`);
      return [];
    }
    return raw.map((value: unknown, i): DraftNode => {
      const id = `${STEP_PREFIX}${i}`;
      const needs: NeedItem[] =
        i === 0
          ? []
          : [
              {
                ref: `${STEP_PREFIX}${i - 1}`,
                literal: true,
                pin: undefined,
                to: undefined,
                mode: 'reliable',
              },
            ];
      if (!isRecord(value)) {
        this.report(
          'bad_yaml',
          `a step must be a map with kind and params, not ${typeName(value)}`,
          id,
        );
        return { id, node: undefined, needs, total: needs.length };
      }
      this.unknownKeys(value, STEP_KEYS, id, 'step');
      const kind = this.kind(value, id);
      const params = this.params(value, id);
      const node = kind !== undefined && params !== undefined ? { kind, params } : undefined;
      return { id, node, needs, total: needs.length };
    });
  }
}

/**
 * Parse pipeline YAML (Patchbay's or StreamKit's) into a model, reporting every problem, each
 * naming its node. With a catalog, kinds, params, pins and pin types are checked too.
 */
export function importPipelineYaml(
  text: string,
  catalog?: KindCatalog,
): Result<Pipeline, Problem[]> {
  if (typeof text !== 'string')
    return err([problem('bad_yaml', `pipeline YAML must be text, not ${typeName(text)}`)]);
  const read = readYaml(text);
  if (!read.ok) return read;
  const importer = new Importer(catalog);
  const built = importer.run(read.value.data);
  const problems = importer.problems;
  if (built) {
    problems.push(
      ...checkModel(built.pipeline, catalog, { declared: built.declared, checkIds: false }),
    );
  }
  if (problems.length === 0 && built) return ok(built.pipeline);
  const lines = nodeLines(read.value);
  return err(
    problems.map((p) => {
      const line = p.node === undefined ? undefined : lines.get(p.node);
      return line === undefined ? p : { ...p, message: `${p.message} (line ${line})` };
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Export

/** Params as a key-sorted Map tree: Maps keep insertion order even for integer-like keys. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : canonical(v)));
  if (isRecord(value)) {
    const map = new Map<string, unknown>();
    for (const key of Object.keys(value).sort(compareStrings)) {
      const v = value[key];
      if (v !== undefined) map.set(key, canonical(v));
    }
    return map;
  }
  // -0 prints as 0; make it 0 so re-import equals the export.
  if (typeof value === 'number' && Object.is(value, -0)) return 0;
  return value;
}

/** Node ids in dependency order, ties (and anything left in a cycle) by id. */
function topologicalOrder(p: Pipeline): string[] {
  const ids = Object.keys(p.nodes).sort(compareStrings);
  const known = new Set(ids);
  const indegree = new Map<string, number>(ids.map((id) => [id, 0]));
  const outgoing = new Map<string, string[]>();
  for (const c of Object.values(p.connections)) {
    const from = c.from.node;
    const to = c.to.node;
    if (from === to || !known.has(from) || !known.has(to)) continue;
    indegree.set(to, (indegree.get(to) as number) + 1);
    const list = outgoing.get(from);
    if (list) list.push(to);
    else outgoing.set(from, [to]);
  }
  const ready = ids.filter((id) => indegree.get(id) === 0).reverse();
  const order: string[] = [];
  const placed = new Set<string>();
  while (ready.length > 0) {
    // `ready` is kept sorted descending so the smallest id pops from the end.
    const id = ready.pop() as string;
    order.push(id);
    placed.add(id);
    for (const to of outgoing.get(id) ?? []) {
      const left = (indegree.get(to) as number) - 1;
      indegree.set(to, left);
      if (left === 0) {
        let at = ready.length;
        while (at > 0 && compareStrings(ready[at - 1] as string, to) < 0) at--;
        ready.splice(at, 0, to);
      }
    }
  }
  // A cyclic model is invalid, but export still writes every node rather than throw.
  for (const id of ids) if (!placed.has(id)) order.push(id);
  return order;
}

function followsConvention(incoming: readonly Connection[]): boolean {
  if (incoming.length === 1) return (incoming[0] as Connection).to.pin === DEFAULT_IN;
  const byPin = new Set(incoming.map((c) => c.to.pin));
  if (byPin.size !== incoming.length) return false;
  for (let i = 0; i < incoming.length; i++) if (!byPin.has(`${FAMILY_IN}${i}`)) return false;
  return true;
}

function needItemOut(c: Connection, withTo: boolean): unknown {
  const pin = c.from.pin === DEFAULT_OUT ? undefined : c.from.pin;
  const mode = c.mode === 'best_effort' ? c.mode : undefined;
  if (!withTo && pin === undefined && mode === undefined) return c.from.node;
  const item = new Map<string, string>([['node', c.from.node]]);
  if (pin !== undefined) item.set('pin', pin);
  if (withTo) item.set('to', c.to.pin);
  if (mode !== undefined) item.set('mode', mode);
  return item;
}

function needsOut(incoming: Connection[]): unknown {
  if (incoming.length === 0) return undefined;
  let items: unknown[];
  if (followsConvention(incoming)) {
    const index = (c: Connection): number =>
      c.to.pin === DEFAULT_IN ? 0 : Number(c.to.pin.slice(FAMILY_IN.length));
    items = [...incoming].sort((a, b) => index(a) - index(b)).map((c) => needItemOut(c, false));
  } else {
    items = [...incoming]
      .sort(
        (a, b) =>
          compareStrings(a.to.pin, b.to.pin) ||
          compareStrings(a.from.node, b.from.node) ||
          compareStrings(a.from.pin, b.from.pin),
      )
      .map((c) => needItemOut(c, true));
  }
  return items.length === 1 ? items[0] : items;
}

/**
 * Write a pipeline as YAML: byte-identical for equal models (fixed key order, nodes in
 * topological order, sorted params), empty fields omitted, `_`-prefixed keys dropped (S3).
 */
export function exportPipelineYaml(p: Pipeline): string {
  const incoming = new Map<string, Connection[]>();
  for (const c of Object.values(p.connections)) {
    if (!has(p.nodes, c.to.node)) continue;
    const list = incoming.get(c.to.node);
    if (list) list.push(c);
    else incoming.set(c.to.node, [c]);
  }

  const nodes = new Map<string, unknown>();
  for (const id of topologicalOrder(p)) {
    const node = p.nodes[id] as PipelineNode;
    const out = new Map<string, unknown>([['kind', node.kind]]);
    const params = canonical(stripTransient(node.params ?? {})) as Map<string, unknown>;
    if (params.size > 0) out.set('params', params);
    const needs = needsOut(incoming.get(id) ?? []);
    if (needs !== undefined) out.set('needs', needs);
    if (node.position) {
      out.set(
        'position',
        new Map([
          ['x', canonical(node.position.x)],
          ['y', canonical(node.position.y)],
        ]),
      );
    }
    nodes.set(id, out);
  }

  const top = new Map<string, unknown>();
  if (p.name !== undefined) top.set('name', p.name);
  if (p.description !== undefined) top.set('description', p.description);
  top.set('mode', p.mode ?? 'dynamic');
  if (nodes.size > 0) top.set('nodes', nodes);
  return stringify(top, STRINGIFY_OPTIONS);
}
