import { describe, expect, it } from 'vitest';
import { autoLayout, freePosition, freshNodeId } from './node-ids';

describe('new node ids', () => {
  it('uses the kind name and the lowest free number', () => {
    expect(freshNodeId('audio::gain', new Set())).toBe('gain_1');
    expect(freshNodeId('audio::gain', new Set(['gain_1', 'gain_3']))).toBe('gain_2');
    expect(freshNodeId('audio::opus::encoder', new Set())).toBe('encoder_1');
  });

  it('is always a valid node id', () => {
    expect(freshNodeId('x::9lives', new Set())).toMatch(/^[A-Za-z_][A-Za-z0-9_\-.]*$/);
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

describe('placing a new node', () => {
  it('keeps a free spot and steps away from an occupied one', () => {
    expect(freePosition({ x: 10.4, y: 20.6 }, [])).toEqual({ x: 10, y: 21 });
    const once = freePosition({ x: 0, y: 0 }, [{ x: 5, y: 5 }]);
    expect(once).not.toEqual({ x: 0, y: 0 });
    const twice = freePosition({ x: 0, y: 0 }, [{ x: 5, y: 5 }, once]);
    expect(twice).not.toEqual(once);
  });
});
