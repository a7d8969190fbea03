import type { Connection, PinSpec, Pipeline } from '@patchbay/protocol';
import { describe, expect, it } from 'vitest';
import {
  autoLayout,
  expectedHandles,
  expectedPinAnchor,
  inputHandles,
  layOutNodes,
  nextFamilyMember,
  outputHandles,
} from './layout';

const video: PinSpec[] = [{ name: 'out', type: 'raw_video' }];
const compositorIn: PinSpec[] = [{ name: 'in_', type: 'raw_video', family: true }];

const conn = (from: string, to: string, pin: string): Connection => ({
  from: { node: from, pin: 'out' },
  to: { node: to, pin },
  mode: 'reliable',
});

describe('pins a node shows', () => {
  it('a family shows its connected members in order and one free slot', () => {
    const handles = inputHandles(compositorIn, 'mix', [
      conn('a', 'mix', 'in_2'),
      conn('b', 'mix', 'in_0'),
      conn('c', 'other', 'in_1'),
    ]);
    expect(handles.map((h) => [h.name, h.slot])).toEqual([
      ['in_0', false],
      ['in_2', false],
      ['in_1', true],
    ]);
  });

  it('next free member fills the lowest gap', () => {
    expect(nextFamilyMember('in_', new Set(['in_0', 'in_1']))).toBe('in_2');
    expect(nextFamilyMember('in_', new Set())).toBe('in_0');
  });

  it('outputs are listed as they are', () => {
    expect(outputHandles(video)).toEqual([{ name: 'out', type: 'raw_video', slot: false }]);
  });
});

describe('auto layout', () => {
  it('places each node one column right of what feeds it', () => {
    const at = autoLayout(
      ['a', 'b', 'c'],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    );
    expect((at.get('b')?.x ?? 0) > (at.get('a')?.x ?? 0)).toBe(true);
    expect((at.get('c')?.x ?? 0) > (at.get('b')?.x ?? 0)).toBe(true);
  });

  it('terminates on a cycle', () => {
    const at = autoLayout(
      ['a', 'b'],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'a' },
      ],
    );
    expect(at.size).toBe(2);
  });
});

describe('laying out a pipeline', () => {
  const kinds = new Map([
    ['video::colorbars', { inputs: [], outputs: video }],
    ['video::compositor', { inputs: compositorIn, outputs: video }],
  ]);

  it('keeps stored positions, places the others by depth, and gives each node its pins', () => {
    const pipeline: Pipeline = {
      mode: 'dynamic',
      nodes: {
        bars: { kind: 'video::colorbars', params: {}, position: { x: 500, y: 70 } },
        mix: { kind: 'video::compositor', params: {} },
        odd: { kind: 'video::nope', params: {} },
      },
      connections: {},
    };
    const connections = [conn('bars', 'mix', 'in_0')];
    const laid = layOutNodes(pipeline, connections, kinds);
    expect(laid.map((n) => n.id)).toEqual(['bars', 'mix', 'odd']);
    expect(laid[0]?.position).toEqual({ x: 500, y: 70 });
    // mix is fed by bars: one column right of where a depth-0 node would go.
    expect(laid[1]?.position).toEqual(
      autoLayout(['bars', 'mix', 'odd'], [{ from: 'bars', to: 'mix' }]).get('mix'),
    );
    expect(laid[1]?.inputs.map((p) => p.name)).toEqual(['in_0', 'in_1']);
    expect(laid[1]?.outputs.map((p) => p.name)).toEqual(['out']);
    expect(laid[2]).toMatchObject({ known: false, inputs: [], outputs: [] });
  });

  it('an empty catalogue knows every kind (nothing is flagged before it loads)', () => {
    const pipeline: Pipeline = {
      mode: 'dynamic',
      nodes: { a: { kind: 'x::y', params: {}, position: { x: 0, y: 0 } } },
      connections: {},
    };
    expect(layOutNodes(pipeline, [], new Map())[0]?.known).toBe(true);
  });
});

describe('handles of a node not drawn yet', () => {
  // A compositor with three input rows and one output, at (300, 100). The studio draws it
  // 170 × 96 with its handles at x = -4 (inputs) and 164 (output), rows from y = 41.5 in steps of
  // 17, each 10 px square (measured in Chromium).
  const kinds = new Map([['video::compositor', { inputs: compositorIn, outputs: video }]]);
  const pipeline: Pipeline = {
    mode: 'dynamic',
    nodes: { mix: { kind: 'video::compositor', params: {}, position: { x: 300, y: 100 } } },
    connections: {},
  };
  const connections = [conn('a', 'mix', 'in_0'), conn('b', 'mix', 'in_1')];
  const [mix] = layOutNodes(pipeline, connections, kinds);

  it('are where the studio draws them', () => {
    if (!mix) throw new Error('no node');
    expect(mix.size).toEqual({ width: 170, height: 96 });
    expect(expectedHandles(mix)).toEqual([
      { pin: 'in_0', side: 'in', x: -4, y: 41.5, width: 10, height: 10 },
      { pin: 'in_1', side: 'in', x: -4, y: 58.5, width: 10, height: 10 },
      { pin: 'in_2', side: 'in', x: -4, y: 75.5, width: 10, height: 10 },
      { pin: 'out', side: 'out', x: 164, y: 41.5, width: 10, height: 10 },
    ]);
  });

  it('anchor connections at their outer edge, mid-row', () => {
    if (!mix) throw new Error('no node');
    expect(expectedPinAnchor(mix, 'in_1', 'in')).toEqual({ x: 296, y: 163.5 });
    expect(expectedPinAnchor(mix, 'out', 'out')).toEqual({ x: 474, y: 146.5 });
    // An unknown pin is taken as the side's first.
    expect(expectedPinAnchor(mix, 'nope', 'in')).toEqual({ x: 296, y: 146.5 });
  });
});
