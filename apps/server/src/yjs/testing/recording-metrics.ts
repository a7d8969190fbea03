import type { ServerMetrics } from '../../host/server-context';

/** ServerMetrics that keeps what it is told, for tests: gauges by key, counters summed. */
export interface RecordingMetrics extends ServerMetrics {
  readonly gauges: Map<string, number>;
  readonly counters: Map<string, number>;
  readonly observations: {
    name: string;
    labels: Readonly<Record<string, string>>;
    value: number;
  }[];
}

function key(name: string, labels: Readonly<Record<string, string>>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/**
 * A ServerMetrics for tests; `gauges.get('name')` reads an unlabelled gauge. `onObserve` sees
 * every observation (the kept list is bounded).
 */
export function recordingMetrics(
  onObserve?: (name: string, labels: Readonly<Record<string, string>>, value: number) => void,
): RecordingMetrics {
  const gauges = new Map<string, number>();
  const counters = new Map<string, number>();
  const observations: RecordingMetrics['observations'] = [];
  return {
    gauges,
    counters,
    observations,
    setGauge(name, labels, value) {
      gauges.set(key(name, labels), value);
    },
    incCounter(name, labels, by = 1) {
      const k = key(name, labels);
      counters.set(k, (counters.get(k) ?? 0) + by);
    },
    observe(name, labels, value) {
      onObserve?.(name, labels, value);
      // Bounded: a long test must not grow memory through its metrics.
      if (observations.length < 1_000) observations.push({ name, labels, value });
    },
  };
}
