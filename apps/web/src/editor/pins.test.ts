import type { Connection, PinSpec } from '@patchbay/protocol';
import { describe, expect, it } from 'vitest';
import { connectionRefusal, inputHandles, nextFamilyMember, outputHandles } from './pins';

const video: PinSpec[] = [{ name: 'out', type: 'raw_video' }];
const audioOut: PinSpec[] = [{ name: 'out', type: 'raw_audio' }];
const anyOut: PinSpec[] = [{ name: 'out', type: 'any' }];
const compositorIn: PinSpec[] = [{ name: 'in_', type: 'raw_video', family: true }];
const gainIn: PinSpec[] = [{ name: 'in', type: 'raw_audio' }];
const anyIn: PinSpec[] = [{ name: 'in', type: 'any' }];

const conn = (from: string, to: string, pin: string): Connection => ({
  from: { node: from, pin: 'out' },
  to: { node: to, pin },
  mode: 'reliable',
});

describe('[E16] pin compatibility in the editor', () => {
  it('matching types connect', () => {
    expect(
      connectionRefusal(
        { node: 'a', pin: 'out', outputs: video },
        { node: 'mix', pin: 'in_0', inputs: compositorIn },
        [],
      ),
    ).toBeUndefined();
  });

  it('incompatible types refuse the connection, naming both types', () => {
    const why = connectionRefusal(
      { node: 'tone', pin: 'out', outputs: audioOut },
      { node: 'mix', pin: 'in_0', inputs: compositorIn },
      [],
    );
    expect(why).toMatch(/raw_audio cannot feed raw_video/);
  });

  it('any accepts all, on either side', () => {
    expect(
      connectionRefusal(
        { node: 'a', pin: 'out', outputs: anyOut },
        { node: 'g', pin: 'in', inputs: gainIn },
        [],
      ),
    ).toBeUndefined();
    expect(
      connectionRefusal(
        { node: 'a', pin: 'out', outputs: video },
        { node: 'g', pin: 'in', inputs: anyIn },
        [],
      ),
    ).toBeUndefined();
  });

  it('refuses self-connections, unknown pins and an input already fed', () => {
    expect(
      connectionRefusal(
        { node: 'g', pin: 'out', outputs: audioOut },
        { node: 'g', pin: 'in', inputs: gainIn },
        [],
      ),
    ).toMatch(/itself/);
    expect(
      connectionRefusal(
        { node: 'a', pin: 'nope', outputs: audioOut },
        { node: 'g', pin: 'in', inputs: gainIn },
        [],
      ),
    ).toMatch(/no output nope/);
    expect(
      connectionRefusal(
        { node: 'a', pin: 'out', outputs: audioOut },
        { node: 'g', pin: 'in', inputs: gainIn },
        [conn('b', 'g', 'in')],
      ),
    ).toMatch(/already fed/);
  });
});

describe('pin handles', () => {
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
