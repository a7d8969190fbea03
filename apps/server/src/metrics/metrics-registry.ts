/**
 * The server's metrics registry: gauges, counters and summaries in memory, rendered in the
 * Prometheus text format (version 0.0.4) for `GET /metrics`. The engine writes through the same
 * object (it is a `MetricsSink`); values computed at scrape time (open rooms, connections) are
 * registered as collectors.
 */
import { NODE_STATE_GAUGE } from '@patchbay/engine';
import type { ServerMetrics } from '../host/server-context';

export type MetricType = 'gauge' | 'counter' | 'summary';

type Labels = Readonly<Record<string, string>>;

interface Family {
  type: MetricType;
  help: string;
  /** Serialized labels → value (gauges and counters) or [sum, count] (summaries). */
  series: Map<string, { labels: Labels; value: number; count: number }>;
}

/** A sample a collector reports at scrape time. */
export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
}

/**
 * Gauges whose zero means "this series no longer applies": a zero deletes the series instead of
 * keeping it forever (the one-hot node-state gauge of a removed node, E13).
 */
const SPARSE_GAUGES = new Set<string>([NODE_STATE_GAUGE, 'patchbay_node_packets']);

/** Help text of the series the server and engine write, for `# HELP` lines. */
const KNOWN: Readonly<Record<string, { type: MetricType; help: string }>> = {
  [NODE_STATE_GAUGE]: {
    type: 'gauge',
    help: 'One-hot lifecycle state of each node (1 = the node is in this state).',
  },
  patchbay_illegal_transitions_total: {
    type: 'counter',
    help: 'Lifecycle transitions the engine refused.',
  },
  patchbay_packets_dropped_total: {
    type: 'counter',
    help: 'Packets dropped on best-effort connections.',
  },
  patchbay_node_packets: {
    type: 'gauge',
    help: 'Packets each node received (in), sent (out) and dropped since it started.',
  },
  patchbay_yjs_rooms: { type: 'gauge', help: 'Session documents loaded in memory (open rooms).' },
  patchbay_yjs_connections: { type: 'gauge', help: 'Open Yjs WebSocket connections.' },
  patchbay_yjs_updates_total: { type: 'counter', help: 'Document updates stored and broadcast.' },
  patchbay_yjs_rejected_frames_total: {
    type: 'counter',
    help: 'Yjs frames refused (text, too large, malformed).',
  },
  patchbay_storage_latency_ms: {
    type: 'summary',
    help: 'Storage call latency in milliseconds, by operation.',
  },
};

export class MetricsRegistry implements ServerMetrics {
  readonly #families = new Map<string, Family>();
  readonly #collectors: Array<{
    name: string;
    type: MetricType;
    help: string;
    collect: () => readonly Sample[];
  }> = [];

  /** Declares a family's type and help text (optional: unknown names default to their use). */
  describe(name: string, type: MetricType, help: string): this {
    const f = this.#families.get(name);
    if (f) {
      f.type = type;
      f.help = help;
    } else this.#families.set(name, { type, help, series: new Map() });
    return this;
  }

  /** A family whose samples are computed when `/metrics` is read. */
  collector(name: string, type: MetricType, help: string, collect: () => readonly Sample[]): this {
    this.#collectors.push({ name, type, help, collect });
    return this;
  }

  setGauge(name: string, labels: Labels, value: number): void {
    const family = this.#family(name, 'gauge');
    const key = labelKey(labels);
    if (value === 0 && SPARSE_GAUGES.has(name)) {
      family.series.delete(key);
      return;
    }
    family.series.set(key, { labels: { ...labels }, value, count: 0 });
  }

  incCounter(name: string, labels: Labels, by = 1): void {
    const family = this.#family(name, 'counter');
    const key = labelKey(labels);
    const s = family.series.get(key);
    if (s) s.value += by;
    else family.series.set(key, { labels: { ...labels }, value: by, count: 0 });
  }

  observe(name: string, labels: Labels, value: number): void {
    const family = this.#family(name, 'summary');
    const key = labelKey(labels);
    const s = family.series.get(key);
    if (s) {
      s.value += value;
      s.count += 1;
    } else family.series.set(key, { labels: { ...labels }, value, count: 1 });
  }

  /** The current value of one series (tests and the metrics of other modules). */
  value(name: string, labels: Labels = {}): number | undefined {
    return this.#families.get(name)?.series.get(labelKey(labels))?.value;
  }

  /** Every series in the Prometheus text format. */
  render(): string {
    const lines: string[] = [];
    const names = new Set([...this.#families.keys(), ...this.#collectors.map((c) => c.name)]);
    for (const name of [...names].sort()) {
      const family = this.#families.get(name);
      const collectors = this.#collectors.filter((c) => c.name === name);
      const type = family?.type ?? collectors[0]?.type ?? 'gauge';
      const help = family?.help || collectors[0]?.help || KNOWN[name]?.help || name;
      lines.push(`# HELP ${name} ${escapeHelp(help)}`);
      lines.push(`# TYPE ${name} ${type}`);
      for (const s of family?.series.values() ?? []) {
        if (type === 'summary') {
          lines.push(`${name}_sum${formatLabels(s.labels)} ${formatValue(s.value)}`);
          lines.push(`${name}_count${formatLabels(s.labels)} ${s.count}`);
        } else lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
      }
      for (const c of collectors) {
        let samples: readonly Sample[] = [];
        try {
          samples = c.collect();
        } catch {
          // A broken collector must not take the whole scrape down; its family stays empty.
        }
        for (const s of samples)
          lines.push(`${name}${formatLabels(s.labels ?? {})} ${formatValue(s.value)}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  #family(name: string, type: MetricType): Family {
    let f = this.#families.get(name);
    if (!f) {
      f = { type: KNOWN[name]?.type ?? type, help: KNOWN[name]?.help ?? '', series: new Map() };
      this.#families.set(name, f);
    }
    return f;
  }
}

function labelKey(labels: Labels): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${sanitizeName(k)}="${escapeLabel(String(labels[k]))}"`).join(',')}}`;
}

function sanitizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^[^a-zA-Z_]/, '_');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * Events per second over a sliding window (e.g. Yjs updates/s), for a gauge collector. `now`
 * is injected so tests need no real time.
 */
export class RateMeter {
  readonly #windowMs: number;
  readonly #now: () => number;
  #stamps: number[] = [];

  constructor(windowMs: number, now: () => number) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  mark(): void {
    this.#stamps.push(this.#now());
    if (this.#stamps.length > 100_000) this.#trim();
  }

  perSecond(): number {
    this.#trim();
    return (this.#stamps.length * 1000) / this.#windowMs;
  }

  #trim(): void {
    const from = this.#now() - this.#windowMs;
    let i = 0;
    while (i < this.#stamps.length && (this.#stamps[i] as number) < from) i++;
    if (i > 0) this.#stamps = this.#stamps.slice(i);
  }
}
