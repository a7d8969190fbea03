import type { Connection, PinSpec } from '@patchbay/protocol';
import { describe, expect, it } from 'vitest';
import { connectionRefusal } from './pins';

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
