import type { MetricsSink } from '../host';

/** Keeps every gauge's latest value and every counter's total, keyed by name and labels. */
export class RecordingMetrics implements MetricsSink {
  readonly gauges = new Map<
    string,
    { name: string; labels: Record<string, string>; value: number }
  >();
  readonly counters = new Map<string, number>();

  setGauge(name: string, labels: Readonly<Record<string, string>>, value: number): void {
    this.gauges.set(key(name, labels), { name, labels: { ...labels }, value });
  }

  incCounter(name: string, labels: Readonly<Record<string, string>>, by = 1): void {
    const k = key(name, labels);
    this.counters.set(k, (this.counters.get(k) ?? 0) + by);
  }

  /** The states whose gauge reads 1 for a node. */
  hotStates(name: string, node: string): string[] {
    return [...this.gauges.values()]
      .filter((g) => g.name === name && g.labels.node === node && g.value === 1)
      .map((g) => g.labels.state ?? '');
  }

  counter(name: string): number {
    let total = 0;
    for (const [k, v] of this.counters) if (k.startsWith(`${name}{`)) total += v;
    return total;
  }
}

function key(name: string, labels: Readonly<Record<string, string>>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
  return `${name}{${parts.join(',')}}`;
}
