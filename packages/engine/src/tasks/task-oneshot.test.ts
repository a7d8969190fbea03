import { describe, expect, it } from 'vitest';
import { importPipelineYaml } from '@patchbay/protocol';
import { createDefaultRegistry } from '../builtins';
import { createTimerClock } from '../clock';
import { runOneshot, taskSinks } from '../oneshot';
import type { RunEvent } from './demand-runner';
import { LLM_BACKEND_SERVICE } from './task-services';
import { FakeLlmBackend } from './testing/fake-llm';
import { value } from './testing/task-harness';

/** Real timers: a oneshot run finishes on its own, as in the CLI. */
const g = globalThis as unknown as {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  performance: { now(): number };
};
const clock = createTimerClock({
  now: () => g.performance.now(),
  setTimeout: (callback, ms) => g.setTimeout(callback, ms),
  clearTimeout: (handle) => g.clearTimeout(handle),
  setImmediate: (callback) => g.setTimeout(callback, 0),
});

const YAML = `mode: oneshot
nodes:
  model: { kind: llm::model, params: { path: tiny.gguf } }
  question: { kind: text::input, params: { text: 'Tell a story' } }
  gen:
    kind: llm::inference
    needs: [{ node: model, to: model }, { node: question, to: input }]
  out: { kind: text::output, needs: gen }
  shout: { kind: text::template, params: { template: '{{t}}!' }, needs: { t: gen } }
`;

describe('X5 task nodes in oneshot runs', () => {
  it('[X5] runOneshot demands each task sink, streams events, and returns their outputs', async () => {
    const registry = createDefaultRegistry();
    const pipeline = value(importPipelineYaml(YAML, registry));
    expect(taskSinks(pipeline, () => true)).toEqual(['out', 'shout']);
    const backend = new FakeLlmBackend(clock);
    backend.tokenMs = 1;
    backend.loadMs = 4;
    const events: RunEvent[] = [];
    const r = await runOneshot(pipeline, {
      registry,
      clock,
      services: { [LLM_BACKEND_SERVICE]: backend },
      onRunEvent: (e) => events.push(e),
    });
    expect(r.ok).toBe(true);
    expect(r.outputs).toEqual({
      out: 'once upon a time there was',
      shout: 'once upon a time there was!',
    });
    // The second sink reused the generation from the cache: one generation in all.
    expect(backend.log.filter((l) => l.startsWith('generate'))).toHaveLength(1);
    const chunks = events.flatMap((e) => (e.type === 'node_stream' ? [e.chunk] : []));
    expect(chunks.join('')).toBe('once upon a time there was');
  });

  it('[X5] a failing task node fails the oneshot run, naming the node', async () => {
    const registry = createDefaultRegistry();
    const pipeline = value(importPipelineYaml(YAML, registry));
    const backend = new FakeLlmBackend(clock);
    backend.missing.add('tiny.gguf');
    const r = await runOneshot(pipeline, {
      registry,
      clock,
      services: { [LLM_BACKEND_SERVICE]: backend },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failed).toEqual([
      { node: 'model', reason: 'no model file at tiny.gguf [model_not_found]' },
    ]);
    expect(r.problems[0]).toMatchObject({ code: 'run_failed', node: 'model' });
  });
});
