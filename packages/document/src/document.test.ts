import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { exportPipelineYaml } from '@patchbay/protocol';
import type { Pipeline } from '@patchbay/protocol';
import {
  addNode,
  connect,
  disconnect,
  documentMaps,
  readPipeline,
  readPipelineChecked,
  removeNode,
  setParam,
  setParams,
  setPosition,
  stampsOfEvents,
  storedStamps,
  sweepStamps,
  writePipeline,
} from './index';

const SENDER_A = '11111111-1111-4111-8111-111111111111';
const SENDER_B = '22222222-2222-4222-8222-222222222222';

const SAMPLE: Pipeline = {
  name: 'Picture in picture',
  description: 'two sources',
  mode: 'dynamic',
  nodes: {
    bg: { kind: 'video::colorbars', params: { width: 1280, height: 720 } },
    cam: { kind: 'video::colorbars', params: { width: 640 }, position: { x: 10, y: 20 } },
    mix: {
      kind: 'video::compositor',
      params: {
        width: 1280,
        layers: { in_1: { rect: { x: 1, y: 2, width: 3, height: 4 }, opacity: 0.5 } },
      },
    },
  },
  connections: {
    'bg.out->mix.in_0': {
      from: { node: 'bg', pin: 'out' },
      to: { node: 'mix', pin: 'in_0' },
      mode: 'reliable',
    },
    'cam.out->mix.in_1': {
      from: { node: 'cam', pin: 'out' },
      to: { node: 'mix', pin: 'in_1' },
      mode: 'best_effort',
    },
  },
};

/** Two docs joined by explicit update exchange. */
function sync(...docs: Y.Doc[]): void {
  for (const a of docs)
    for (const b of docs)
      if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
}

function doc(): Y.Doc {
  return new Y.Doc();
}

describe('pipeline document model', () => {
  it('writePipeline then readPipeline gives the same pipeline', () => {
    const d = doc();
    writePipeline(d, SAMPLE, 'test');
    expect(readPipeline(d)).toEqual(SAMPLE);
  });

  it('writePipeline replaces: removed nodes and connections go, unchanged nodes keep their maps', () => {
    const d = doc();
    writePipeline(d, SAMPLE, 'test');
    const bgMap = documentMaps(d).nodes.get('bg');
    const next: Pipeline = JSON.parse(JSON.stringify(SAMPLE)) as Pipeline;
    delete next.nodes.cam;
    delete next.connections['cam.out->mix.in_1'];
    next.nodes.bg!.params.width = 1920;
    delete next.description;
    writePipeline(d, next, 'test');
    expect(readPipeline(d)).toEqual(next);
    expect(documentMaps(d).nodes.get('bg')).toBe(bgMap);
  });

  it('a node whose kind changes gets a fresh map', () => {
    const d = doc();
    writePipeline(d, SAMPLE, 'test');
    const next: Pipeline = JSON.parse(JSON.stringify(SAMPLE)) as Pipeline;
    next.nodes.cam = { kind: 'core::passthrough', params: {} };
    writePipeline(d, next, 'test');
    expect(readPipeline(d).nodes.cam).toEqual({ kind: 'core::passthrough', params: {} });
  });

  it('edit helpers: add, set params (nested), move, connect, disconnect, remove', () => {
    const d = doc();
    addNode(d, 'a', { kind: 'audio::sine', params: { frequency_hz: 440 } });
    addNode(d, 'g', { kind: 'audio::gain', params: {} });
    expect(setParam(d, 'g', 'gain', 0.5)).toBe(true);
    expect(setParam(d, 'g', ['nested', 'deep'], 1)).toBe(true);
    expect(setParam(d, 'missing', 'gain', 1)).toBe(false);
    expect(setParam(d, 'g', ['gain', 'x'], 1)).toBe(false);
    setPosition(d, 'g', { x: 3, y: 4 });
    connect(d, { from: { node: 'a', pin: 'out' }, to: { node: 'g', pin: 'in' }, mode: 'reliable' });
    expect(readPipeline(d)).toEqual({
      mode: 'dynamic',
      nodes: {
        a: { kind: 'audio::sine', params: { frequency_hz: 440 } },
        g: {
          kind: 'audio::gain',
          params: { gain: 0.5, nested: { deep: 1 } },
          position: { x: 3, y: 4 },
        },
      },
      connections: {
        'a.out->g.in': {
          from: { node: 'a', pin: 'out' },
          to: { node: 'g', pin: 'in' },
          mode: 'reliable',
        },
      },
    });
    setParam(d, 'g', ['nested', 'deep'], undefined);
    expect(readPipeline(d).nodes.g?.params).toEqual({ gain: 0.5, nested: {} });
    expect(disconnect(d, { from: { node: 'a', pin: 'out' }, to: { node: 'g', pin: 'in' } })).toBe(
      true,
    );
    expect(disconnect(d, { from: { node: 'a', pin: 'out' }, to: { node: 'g', pin: 'in' } })).toBe(
      false,
    );
    connect(d, { from: { node: 'a', pin: 'out' }, to: { node: 'g', pin: 'in' }, mode: 'reliable' });
    expect(removeNode(d, 'a')).toBe(true);
    expect(readPipeline(d).connections).toEqual({});
    expect(Object.keys(readPipeline(d).nodes)).toEqual(['g']);
  });

  it('an edit helper groups its gesture in one transaction with the caller origin', () => {
    const d = doc();
    addNode(d, 'g', { kind: 'audio::gain', params: {} });
    const origins: unknown[] = [];
    d.on('afterTransaction', (tr: Y.Transaction) => origins.push(tr.origin));
    setParams(
      d,
      'g',
      [
        ['gain', 1],
        ['other', 2],
      ],
      { origin: 'me' },
    );
    expect(origins).toEqual(['me']);
  });

  it('concurrent edits of different params of one node both win', () => {
    const a = doc();
    const b = doc();
    writePipeline(a, SAMPLE, 'seed');
    sync(a, b);
    setParam(a, 'bg', 'width', 1920);
    setParam(b, 'bg', 'height', 1080);
    setParam(a, 'mix', ['layers', 'in_1', 'opacity'], 0.9);
    setParam(b, 'mix', ['layers', 'in_1', 'rect'], { x: 9, y: 9, width: 9, height: 9 });
    sync(a, b);
    for (const d of [a, b]) {
      expect(readPipeline(d).nodes.bg?.params).toEqual({ width: 1920, height: 1080 });
      expect(readPipeline(d).nodes.mix?.params.layers).toEqual({
        in_1: { rect: { x: 9, y: 9, width: 9, height: 9 }, opacity: 0.9 },
      });
    }
  });

  it('[S2] a stamp travels in the same update as its edit and the receiver reads both from one transaction', () => {
    const client = doc();
    const server = doc();
    writePipeline(client, SAMPLE, 'seed');
    sync(client, server);
    const seen: Array<{ params: unknown; stamps: Map<string, unknown> }> = [];
    documentMaps(server).nodes.observeDeep((events) => {
      seen.push({
        params: readPipeline(server).nodes.mix?.params.width,
        stamps: stampsOfEvents(events),
      });
    });
    const updates: Uint8Array[] = [];
    client.on('update', (u: Uint8Array) => updates.push(u));
    setParam(client, 'mix', 'width', 640, { stamp: { sender: SENDER_A, rev: 3 } });
    expect(updates).toHaveLength(1);
    Y.applyUpdate(server, updates[0]!, 'remote');
    expect(seen).toEqual([
      { params: 640, stamps: new Map([['mix', { sender: SENDER_A, rev: 3 }]]) },
    ]);
  });

  it('[S2] concurrent stamps of two senders on one node are both kept until swept', () => {
    const a = doc();
    const b = doc();
    writePipeline(a, SAMPLE, 'seed');
    sync(a, b);
    setParam(a, 'mix', 'width', 1, { stamp: { sender: SENDER_A, rev: 1 } });
    setParam(b, 'mix', 'height', 2, { stamp: { sender: SENDER_B, rev: 7 } });
    sync(a, b);
    expect(storedStamps(a).get('mix')).toEqual(
      new Map([
        [SENDER_A, 1],
        [SENDER_B, 7],
      ]),
    );
  });

  it('[S3] stamps never show in readPipeline, YAML export or after a sweep, and a sweep keeps a concurrent newer stamp', () => {
    const client = doc();
    const server = doc();
    writePipeline(client, SAMPLE, 'seed');
    sync(client, server);
    setParam(client, 'mix', 'width', 2, { stamp: { sender: SENDER_A, rev: 1 } });
    sync(client, server);
    const pipeline = readPipeline(server);
    expect(JSON.stringify(pipeline)).not.toContain('_stamps');
    expect(exportPipelineYaml(pipeline)).not.toMatch(/(^|\s)_/m);
    // The server sweeps while the client concurrently stamps its next edit.
    sweepStamps(server, 'server');
    setParam(client, 'mix', 'width', 3, { stamp: { sender: SENDER_A, rev: 2 } });
    sync(client, server);
    expect(storedStamps(server).get('mix')).toEqual(new Map([[SENDER_A, 2]]));
    sweepStamps(server, 'server');
    sync(client, server);
    expect(storedStamps(client).size).toBe(0);
    expect(storedStamps(server).size).toBe(0);
  });

  it('malformed entries written by a client are reported and skipped, never thrown on', () => {
    const d = doc();
    writePipeline(d, SAMPLE, 'seed');
    const { nodes, connections, meta } = documentMaps(d);
    d.transact(() => {
      nodes.set('bad', 42);
      nodes.set('no kind', new Y.Map());
      const noKind = new Y.Map();
      nodes.set('nokind', noKind);
      connections.set('wrong-key', {
        from: { node: 'bg', pin: 'out' },
        to: { node: 'mix', pin: 'in_5' },
      });
      connections.set('x', 'y');
      meta.set('mode', 'sideways');
    });
    const { pipeline, problems } = readPipelineChecked(d);
    expect(pipeline.nodes).toEqual(SAMPLE.nodes);
    expect(pipeline.connections).toEqual(SAMPLE.connections);
    expect(problems.map((p) => `${p.where}:${p.key}`).sort()).toEqual([
      'connection:wrong-key',
      'connection:x',
      'meta:mode',
      'node:bad',
      'node:no kind',
      'node:nokind',
    ]);
  });

  it('a __proto__ node id is data, not a prototype', () => {
    const d = doc();
    addNode(d, '__proto__', { kind: 'core::sink', params: {} });
    const p = readPipeline(d);
    expect(Object.keys(p.nodes)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(p.nodes)).toBe(Object.prototype);
  });
});

// ------------------------------------------------------------------------------------------------
// Randomized multi-peer convergence (seeded; the seed is in the test name and every failure).

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const IDS = ['a', 'b', 'c', 'd', 'e'];
const KINDS = ['audio::sine', 'audio::gain', 'core::sink'];
const PARAMS = ['gain', 'frequency_hz', 'width'];

function randomEdit(d: Y.Doc, rand: () => number, peer: number, step: number): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const r = rand();
  const id = pick(IDS);
  const stamp = { sender: `${peer}0000000-0000-4000-8000-000000000000`, rev: step };
  if (r < 0.2) addNode(d, id, { kind: pick(KINDS), params: { gain: step } });
  else if (r < 0.3) removeNode(d, id);
  else if (r < 0.6) setParam(d, id, pick(PARAMS), step, { stamp });
  else if (r < 0.7) setParam(d, id, ['layers', pick(IDS), 'opacity'], rand(), { stamp });
  else if (r < 0.8) setPosition(d, id, { x: step, y: peer });
  else if (r < 0.92) {
    const to = pick(IDS);
    if (to !== id)
      connect(d, { from: { node: id, pin: 'out' }, to: { node: to, pin: 'in' }, mode: 'reliable' });
  } else disconnect(d, { from: { node: id, pin: 'out' }, to: { node: pick(IDS), pin: 'in' } });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .map((k) => [k, sortKeys(obj[k])]),
    );
  }
  return value;
}

describe('randomized multi-peer convergence', () => {
  for (const seed of [1, 2, 3, 42, 1234, 99991]) {
    it(`peers exchanging updates in random order converge (seed ${seed})`, () => {
      const rand = mulberry32(seed);
      const peers = [doc(), doc(), doc()];
      // Per receiver: updates in flight, delivered in random order, some after long delays.
      const inbox: Uint8Array[][] = peers.map(() => []);
      peers.forEach((p, i) =>
        p.on('update', (u: Uint8Array, origin: unknown) => {
          if (origin === 'net') return;
          inbox.forEach((box, j) => {
            if (j !== i) box.push(u);
          });
        }),
      );
      for (let step = 1; step <= 300; step++) {
        const peer = Math.floor(rand() * peers.length);
        randomEdit(peers[peer]!, rand, peer, step);
        if (rand() < 0.4) {
          const j = Math.floor(rand() * peers.length);
          const box = inbox[j]!;
          if (box.length > 0) {
            const [u] = box.splice(Math.floor(rand() * box.length), 1);
            Y.applyUpdate(peers[j]!, u!, 'net');
          }
        }
      }
      // Deliver what is left, in random order.
      inbox.forEach((box, j) => {
        while (box.length > 0) {
          const [u] = box.splice(Math.floor(rand() * box.length), 1);
          Y.applyUpdate(peers[j]!, u!, 'net');
        }
      });
      const [first, ...rest] = peers.map((p) => readPipeline(p));
      for (const other of rest) expect(other, `seed ${seed}`).toEqual(first);
      // The whole documents, `_` keys included (map key order is not part of the state).
      const json = peers.map((p) => JSON.stringify(sortKeys(p.toJSON())));
      expect(new Set(json).size, `seed ${seed}`).toBe(1);
    });
  }
});
