import { addNode, readPipeline, writePipeline } from '@patchbay/document';
import { exportPipelineYaml, importPipelineYaml } from '@patchbay/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { kindCatalogOf } from '../api/catalog';
import type { NodeKindInfo } from '../api/catalog';
import { keepPositions } from './keep-positions';

const kinds: NodeKindInfo[] = [
  {
    kind: 'audio::sine',
    description: '',
    oneshotOnly: false,
    task: false,
    inputs: [],
    outputs: [{ name: 'out', type: 'raw_audio' }],
    paramsSchema: {
      type: 'object',
      properties: { frequency_hz: { type: 'number', minimum: 1, maximum: 20000 } },
    },
  },
  {
    kind: 'audio::mixer',
    description: '',
    oneshotOnly: false,
    task: false,
    inputs: [{ name: 'in_', type: 'raw_audio', family: true }],
    outputs: [{ name: 'out', type: 'raw_audio' }],
    paramsSchema: { type: 'object', properties: {} },
  },
  {
    kind: 'video::colorbars',
    description: '',
    oneshotOnly: false,
    task: false,
    inputs: [],
    outputs: [{ name: 'out', type: 'raw_video' }],
    paramsSchema: { type: 'object', properties: {} },
  },
];
const catalog = kindCatalogOf(kinds);

const good = `name: Two tones
nodes:
  a:
    kind: audio::sine
    params: { frequency_hz: 440 }
  b:
    kind: audio::sine
    params: { frequency_hz: 660 }
  mix:
    kind: audio::mixer
    needs: [a, b]
`;

describe('YAML import against the server catalogue', () => {
  it('accepts a valid pipeline and the export round-trips byte-identically', () => {
    const r = importPipelineYaml(good, catalog);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const doc = new Y.Doc();
    writePipeline(doc, r.value, 'me');
    const first = exportPipelineYaml(readPipeline(doc));
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
    expect(exportPipelineYaml(readPipeline(other))).toBe(first);
    expect(first).not.toMatch(/(^|\s)_/m);
  });

  it('reports each problem with its node: unknown kind, bad params, wrong pin type', () => {
    const bad = `nodes:
  a:
    kind: audio::nope
  b:
    kind: audio::sine
    params: { frequency_hz: 0 }
  v:
    kind: video::colorbars
  mix:
    kind: audio::mixer
    needs: [v]
`;
    const r = importPipelineYaml(bad, catalog);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byNode = new Map(r.error.map((p) => [p.node, p.code]));
    expect(byNode.get('a')).toBe('unknown_kind');
    expect(byNode.get('b')).toBe('bad_params');
    expect([...byNode.values()]).toContain('pin_type_mismatch');
  });

  it('keeps the canvas positions of nodes that stay', () => {
    const doc = new Y.Doc();
    addNode(doc, 'a', { kind: 'audio::sine', params: {}, position: { x: 5, y: 6 } });
    const r = importPipelineYaml(good, catalog);
    if (!r.ok) throw new Error('import failed');
    const merged = keepPositions(r.value, readPipeline(doc));
    expect(merged.nodes.a?.position).toEqual({ x: 5, y: 6 });
    expect(merged.nodes.mix?.position).toBeUndefined();
  });
});
