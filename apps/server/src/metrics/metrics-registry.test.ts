import { describe, expect, it } from 'vitest';
import { MetricsRegistry, RateMeter } from './metrics-registry';

describe('MetricsRegistry (Prometheus text)', () => {
  it('renders gauges, counters, summaries and collectors with HELP and TYPE lines', () => {
    const m = new MetricsRegistry();
    m.describe('jobs_total', 'counter', 'Jobs done.');
    m.incCounter('jobs_total', { queue: 'a' });
    m.incCounter('jobs_total', { queue: 'a' }, 2);
    m.setGauge('temp', {}, 21.5);
    m.observe('latency_ms', { op: 'x' }, 3);
    m.observe('latency_ms', { op: 'x' }, 5);
    m.collector('live', 'gauge', 'Computed at scrape.', () => [{ labels: { k: 'v' }, value: 7 }]);
    expect(m.render()).toBe(
      [
        '# HELP jobs_total Jobs done.',
        '# TYPE jobs_total counter',
        'jobs_total{queue="a"} 3',
        '# HELP latency_ms latency_ms',
        '# TYPE latency_ms summary',
        'latency_ms_sum{op="x"} 8',
        'latency_ms_count{op="x"} 2',
        '# HELP live Computed at scrape.',
        '# TYPE live gauge',
        'live{k="v"} 7',
        '# HELP temp temp',
        '# TYPE temp gauge',
        'temp 21.5',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values and keeps label order stable', () => {
    const m = new MetricsRegistry();
    m.setGauge('g', { b: 'x"y', a: 'back\\slash\nline' }, 1);
    expect(m.render()).toContain('g{a="back\\\\slash\\nline",b="x\\"y"} 1');
  });

  it('[E13] a zero on the node-state gauge removes the series (a removed node leaves no residue)', () => {
    const m = new MetricsRegistry();
    const labels = { session: 's', node: 'n', kind: 'k', state: 'running' };
    m.setGauge('patchbay_node_state', labels, 1);
    expect(m.render()).toContain('state="running"} 1');
    m.setGauge('patchbay_node_state', labels, 0);
    expect(m.render()).not.toContain('state="running"');
  });

  it('a collector that throws leaves its family empty and the scrape whole', () => {
    const m = new MetricsRegistry();
    m.collector('bad', 'gauge', 'x', () => {
      throw new Error('boom');
    });
    m.setGauge('ok', {}, 1);
    expect(m.render()).toContain('ok 1');
  });
});

describe('RateMeter', () => {
  it('counts events per second over its window', () => {
    let now = 0;
    const r = new RateMeter(10_000, () => now);
    for (let i = 0; i < 50; i++) r.mark();
    expect(r.perSecond()).toBe(5);
    now = 10_001;
    expect(r.perSecond()).toBe(0);
  });
});
