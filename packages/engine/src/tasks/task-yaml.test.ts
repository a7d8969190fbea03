import { describe, expect, it } from 'vitest';
import { exportPipelineYaml, importPipelineYaml, validatePipeline } from '@patchbay/protocol';
import { createDefaultRegistry } from '../builtins';
import { pipelineOps } from '../oneshot';
import { taskEngine, value } from './testing/task-harness';

const YAML = `name: Summarise
description: Tasks and media in one pipeline
nodes:
  model:
    kind: llm::model
    params: { path: models/tiny.gguf, context_size: 512 }
  notes:
    kind: text::input
    params: { text: 'ship it' }
  prompt:
    kind: text::template
    params: { template: 'Summarise: {{notes}}' }
    needs: { notes: notes }
  gen:
    kind: llm::inference
    params: { max_tokens: 4 }
    needs:
      - { node: model, to: model }
      - { node: prompt, to: input }
  route:
    kind: flow::conditional
    params: { operator: contains, value: once }
    needs: gen
  all:
    kind: flow::merge
    needs: [notes, route.true]
  out:
    kind: text::output
    needs: all
  tone:
    kind: audio::sine
    params: { frequency_hz: 440 }
  sink:
    kind: core::sink
    needs: tone
`;

describe('X3 task nodes in pipeline YAML', () => {
  it('[X3] a pipeline mixing task and streaming nodes imports, validates, runs and exports', async () => {
    const registry = createDefaultRegistry();
    const pipeline = value(importPipelineYaml(YAML, registry));
    expect(validatePipeline(pipeline, registry)).toEqual([]);
    expect(pipeline.connections['all.out->out.in']).toBeDefined();
    expect(pipeline.connections['route.true->all.in_1']).toBeDefined();
    const text = exportPipelineYaml(pipeline);
    expect(exportPipelineYaml(value(importPipelineYaml(text, registry)))).toBe(text);

    const t = taskEngine({ registry });
    await t.build(pipelineOps(pipeline));
    const { end } = await t.demandAndWait('out');
    expect(end).toMatchObject({ type: 'run_completed', output: '["ship it","once upon a time"]' });
    expect(t.backend.log).toContain('generate models/tiny.gguf: Summarise: ship it');
  });

  it('[X3] import names the node for bad task params, unknown pins and mismatched types', () => {
    const registry = createDefaultRegistry();
    const bad = importPipelineYaml(
      `nodes:
  f:
    kind: json::filter
    params: { path: 'a..b' }
  tpl:
    kind: text::template
    params: { template: 'Hi {{name}}' }
    needs: { nope: f }
  tone:
    kind: audio::sine
  gen:
    kind: llm::inference
    needs: { node: tone, to: model }
`,
      registry,
    );
    expect(bad.ok).toBe(false);
    const problems = bad.ok ? [] : bad.error;
    expect(problems.map((p) => [p.node, p.code])).toEqual(
      expect.arrayContaining([
        ['f', 'bad_params'],
        ['tpl', 'unknown_pin'],
        ['gen', 'pin_type_mismatch'],
      ]),
    );
  });
});
