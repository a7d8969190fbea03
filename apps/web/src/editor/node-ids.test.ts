import { describe, expect, it } from 'vitest';
import { freePosition, freshNodeId } from './node-ids';

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

describe('placing a new node', () => {
  it('keeps a free spot and steps away from an occupied one', () => {
    expect(freePosition({ x: 10.4, y: 20.6 }, [])).toEqual({ x: 10, y: 21 });
    const once = freePosition({ x: 0, y: 0 }, [{ x: 5, y: 5 }]);
    expect(once).not.toEqual({ x: 0, y: 0 });
    const twice = freePosition({ x: 0, y: 0 }, [{ x: 5, y: 5 }, once]);
    expect(twice).not.toEqual(once);
  });
});
