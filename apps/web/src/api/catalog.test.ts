import { groupKinds, kindCategory } from '@patchbay/protocol';
import { describe, expect, it } from 'vitest';
import { kindCatalogOf, parseNodeCatalog } from './catalog';

const body = {
  nodes: [
    {
      kind: 'video::compositor',
      description: 'Composites',
      inputs: [{ name: 'in_', type: 'raw_video', family: true }],
      outputs: [{ name: 'out', type: 'raw_video' }],
      paramsSchema: { type: 'object' },
    },
    {
      kind: 'audio::gain',
      description: 'Scales audio',
      inputs: [{ name: 'in', type: 'raw_audio' }],
      outputs: [{ name: 'out', type: 'raw_audio' }],
      paramsSchema: { type: 'object', properties: { gain: { type: 'number', minimum: 0 } } },
    },
    {
      kind: 'audio::mixer2',
      description: '',
      inputs: [
        { name: 'in_0', type: 'raw_audio' },
        { name: 'in_1', type: 'raw_audio' },
      ],
      outputs: [],
      paramsSchema: {},
    },
    { kind: 'broken', inputs: 'nope' },
    'garbage',
  ],
};

describe('node catalogue', () => {
  const kinds = parseNodeCatalog(body);

  it('skips malformed entries and sorts by kind', () => {
    expect(kinds.map((k) => k.kind)).toEqual(['audio::gain', 'audio::mixer2', 'video::compositor']);
    expect(parseNodeCatalog({})).toEqual([]);
  });

  it('groups the palette by the kind prefix, filtered by search', () => {
    expect(kindCategory('audio::opus::encoder')).toBe('audio');
    expect(kindCategory('plain')).toBe('other');
    expect(groupKinds(kinds).map((g) => g.category)).toEqual(['audio', 'video']);
    expect(groupKinds(kinds, 'scales').flatMap((g) => g.kinds.map((k) => k.kind))).toEqual([
      'audio::gain',
    ]);
    expect(groupKinds(kinds, 'zzz')).toEqual([]);
  });

  it('serves protocol validation: unknown kinds, param checks, numbered pins read as a family', () => {
    const catalog = kindCatalogOf(kinds);
    expect(catalog.lookup('nope')).toBeUndefined();
    const gain = catalog.lookup('audio::gain');
    expect(gain?.parseParams({ gain: 2 }).ok).toBe(true);
    expect(gain?.parseParams({ gain: -1 }).ok).toBe(false);
    const mixer = catalog.lookup('audio::mixer2');
    expect(mixer?.pins({}).inputs).toEqual([{ name: 'in_', type: 'raw_audio', family: true }]);
  });
});
