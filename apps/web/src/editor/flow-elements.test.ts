import type { Connection, Pipeline } from '@patchbay/protocol';
import { describe, expect, it } from 'vitest';
import type { NodeKindInfo } from '../api/catalog';
import { EMPTY_RUNTIME } from '../monitor/runtime-state';
import { flowEdges, flowNodes } from './flow-elements';

const kind = (k: string, inputs: NodeKindInfo['inputs'], outputs: NodeKindInfo['outputs']) =>
  [
    k,
    {
      kind: k,
      description: '',
      oneshotOnly: false,
      task: false,
      inputs,
      outputs,
      paramsSchema: {},
    },
  ] as const;
const kinds = new Map<string, NodeKindInfo>([
  kind('audio::sine', [], [{ name: 'out', type: 'raw_audio' }]),
  kind(
    'audio::mixer',
    [{ name: 'in_', type: 'raw_audio', family: true }],
    [{ name: 'out', type: 'raw_audio' }],
  ),
]);
const wire: Connection = {
  from: { node: 'tone', pin: 'out' },
  to: { node: 'mix', pin: 'in_0' },
  mode: 'best_effort',
};
const pipeline: Pipeline = {
  mode: 'dynamic',
  nodes: {
    tone: { kind: 'audio::sine', params: {}, position: { x: 10, y: 20 } },
    mix: { kind: 'audio::mixer', params: {}, position: { x: 300, y: 20 } },
    odd: { kind: 'no::such', params: {}, position: { x: 0, y: 200 } },
  },
  connections: { a: wire },
};

describe('canvas elements from the pipeline', () => {
  it('one node per pipeline node, in order, with its position, pins and expected size', () => {
    const nodes = flowNodes({ pipeline, connections: [wire], kinds, runtime: EMPTY_RUNTIME });
    expect(nodes.map((n) => [n.id, n.position])).toEqual([
      ['tone', { x: 10, y: 20 }],
      ['mix', { x: 300, y: 20 }],
      ['odd', { x: 0, y: 200 }],
    ]);
    const [tone, mix, odd] = nodes;
    expect(tone?.data.outputs.map((h) => h.name)).toEqual(['out']);
    // A family pin shows its wired members and one free slot.
    expect(mix?.data.inputs.map((h) => h.name)).toEqual(['in_0', 'in_1']);
    expect(mix?.initialHeight).toBe(45 + 17 * 2);
    expect(odd?.data.known).toBe(false);
    expect(nodes.every((n) => n.initialWidth === 170 && n.type === 'pipeline')).toBe(true);
  });

  it('runtime state, peers, this tab’s drag, measured size and selection are drawn', () => {
    const [tone] = flowNodes({
      pipeline,
      connections: [wire],
      kinds,
      runtime: {
        ...EMPTY_RUNTIME,
        states: { tone: { status: 'running' } },
        nodeErrors: { tone: 'refused' },
      },
      peers: new Map([['tone', [{ name: 'Bob', color: '#00f', dragging: true }]]]),
      dragging: { tone: { x: 50, y: 60 } },
      measured: { tone: { width: 180, height: 70 } },
      selected: 'tone',
    });
    expect(tone).toMatchObject({
      position: { x: 50, y: 60 },
      measured: { width: 180, height: 70 },
      selected: true,
      data: {
        state: { status: 'running' },
        error: 'refused',
        peers: [{ name: 'Bob', dragging: true }],
      },
    });
  });

  it('a node not measured yet carries its expected handles; a measured one keeps React Flow’s', () => {
    const [tone, mix] = flowNodes({
      pipeline,
      connections: [wire],
      kinds,
      runtime: EMPTY_RUNTIME,
      measured: { tone: { width: 170, height: 62 } },
    });
    expect(tone?.handles).toBeUndefined();
    expect(mix?.handles).toEqual([
      { id: 'in_0', type: 'target', position: 'left', x: -4, y: 41.5, width: 10, height: 10 },
      { id: 'in_1', type: 'target', position: 'left', x: -4, y: 58.5, width: 10, height: 10 },
      { id: 'out', type: 'source', position: 'right', x: 164, y: 41.5, width: 10, height: 10 },
    ]);
  });

  it('before the catalogue has loaded every kind is drawn as known, without pins', () => {
    const nodes = flowNodes({
      pipeline,
      connections: [],
      kinds: new Map(),
      runtime: EMPTY_RUNTIME,
    });
    expect(nodes.every((n) => n.data.known && n.data.inputs.length === 0)).toBe(true);
  });

  it('nodes without a position are laid out, not stacked at the origin', () => {
    const unplaced: Pipeline = {
      ...pipeline,
      nodes: {
        tone: { kind: 'audio::sine', params: {} },
        mix: { kind: 'audio::mixer', params: {} },
      },
    };
    const [tone, mix] = flowNodes({
      pipeline: unplaced,
      connections: [wire],
      kinds,
      runtime: EMPTY_RUNTIME,
    });
    expect(tone?.position).not.toEqual(mix?.position);
  });

  it('one edge per connection, animated when best effort', () => {
    const edges = flowEdges([
      wire,
      { ...wire, to: { node: 'mix', pin: 'in_1' }, mode: 'reliable' },
    ]);
    expect(
      edges.map((e) => [e.source, e.sourceHandle, e.target, e.targetHandle, e.animated]),
    ).toEqual([
      ['tone', 'out', 'mix', 'in_0', true],
      ['tone', 'out', 'mix', 'in_1', undefined],
    ]);
    expect(new Set(edges.map((e) => e.id)).size).toBe(2);
  });
});
