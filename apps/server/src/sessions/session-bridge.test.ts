import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addNode,
  connect,
  documentMaps,
  readPipeline,
  removeNode,
  setParam,
  storedStamps,
  writePipeline,
} from '@patchbay/document';
import { Engine, ManualClock, createDefaultRegistry, defineNode } from '@patchbay/engine';
import type { Pipeline, Problem } from '@patchbay/protocol';
import { Authenticator } from '../auth/auth';
import { Role } from '../host/server-context';
import type { Identity } from '../host/server-context';
import { SessionBridge } from './session-bridge';

const EDITOR: Identity = { userId: 'ed', name: 'ed', role: Role.editor, color: '#000' };
const VIEWER: Identity = { userId: 'vi', name: 'vi', role: Role.viewer, color: '#000' };
const SENDER = '33333333-3333-4333-8333-333333333333';
const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

function originOf(identity: Identity): { kind: 'client'; identity: Identity } {
  return { kind: 'client', identity };
}

const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.shutdown()));
});

/** A kind whose creation fails in the background (after the add was accepted). */
const failingNode = defineNode({
  kind: 'test::fails',
  description: 'fails while being created',
  // Any empty-params schema will do (core::sink has one).
  params: createDefaultRegistry().get('core::sink')!.params,
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'raw_audio' }] }),
  create: async () => {
    await Promise.resolve();
    throw new Error('no device');
  },
});

async function setup(
  initial?: Pipeline,
  options: { allowedKinds?: Record<string, string[]> } = {},
) {
  const doc = new Y.Doc();
  if (initial) writePipeline(doc, initial, 'storage');
  const registry = createDefaultRegistry().register(failingNode);
  const engine = new Engine({ registry, clock: new ManualClock(), mode: 'dynamic', session: 's' });
  engines.push(engine);
  const refusals: Array<{ identity: Identity | undefined; problems: readonly Problem[] }> = [];
  const bridge = new SessionBridge({
    session: 's',
    doc,
    engine,
    registry,
    authenticator: new Authenticator({
      tokens: [{ token: 't', name: 'x', role: 'editor' }],
      allowedKinds: options.allowedKinds ?? {},
    }),
    log: silent,
    identityOf: (o) => (o as { identity?: Identity } | null)?.identity,
    onRefused: (identity, problems) => refusals.push({ identity, problems }),
  });
  const restored = await bridge.start();
  return { doc, engine, bridge, refusals, restored };
}

const ed = { origin: originOf(EDITOR) };

describe('session bridge: document → engine', () => {
  it('a node added in the document is created in the engine, then tuned and connected', async () => {
    const { doc, engine, bridge } = await setup();
    addNode(doc, 'sine', { kind: 'audio::sine', params: {} }, ed);
    addNode(doc, 'gain', { kind: 'audio::gain', params: { gain: 1 } }, ed);
    connect(
      doc,
      { from: { node: 'sine', pin: 'out' }, to: { node: 'gain', pin: 'in' }, mode: 'reliable' },
      ed,
    );
    setParam(doc, 'gain', 'gain', 0.25, ed);
    await bridge.idle();
    const snap = engine.snapshot();
    expect(snap.nodes.map((n) => n.id).sort()).toEqual(['gain', 'sine']);
    expect(snap.nodes.find((n) => n.id === 'gain')?.params.gain).toBe(0.25);
    expect(snap.connections.map((c) => `${c.from.node}->${c.to.node}`)).toEqual(['sine->gain']);
    removeNode(doc, 'sine', ed);
    await bridge.idle();
    expect(engine.snapshot().nodes.map((n) => n.id)).toEqual(['gain']);
    expect(engine.snapshot().connections).toEqual([]);
  });

  it('[E6] a second add of an existing id (another kind) is refused, undone in the document and reported', async () => {
    const { doc, engine, bridge, refusals } = await setup();
    addNode(doc, 'g', { kind: 'audio::gain', params: { gain: 2 } }, ed);
    await bridge.idle();
    addNode(doc, 'g', { kind: 'audio::sine', params: {} }, ed);
    await bridge.idle();
    expect(readPipeline(doc).nodes.g).toEqual({ kind: 'audio::gain', params: { gain: 2 } });
    expect(engine.snapshot().nodes.map((n) => n.kind)).toEqual(['audio::gain']);
    expect(refusals).toEqual([
      {
        identity: EDITOR,
        problems: [expect.objectContaining({ code: 'duplicate_node', node: 'g' })],
      },
    ]);
  });

  it('an unknown kind, a oneshot-only kind and bad params are refused and undone', async () => {
    const { doc, bridge, refusals } = await setup();
    addNode(doc, 'x', { kind: 'nope::nothing', params: {} }, ed);
    addNode(doc, 'in', { kind: 'io::input', params: {} }, ed);
    addNode(doc, 'g', { kind: 'audio::gain', params: { gain: 1 } }, ed);
    await bridge.idle();
    setParam(doc, 'g', 'gain', 'loud', ed);
    await bridge.idle();
    expect(readPipeline(doc).nodes).toEqual({ g: { kind: 'audio::gain', params: { gain: 1 } } });
    expect(refusals.flatMap((r) => r.problems.map((p) => p.code)).sort()).toEqual([
      'bad_params',
      'oneshot_only',
      'unknown_kind',
    ]);
  });

  it('[E7] a connection that would close a cycle, or names a missing node, is refused and undone', async () => {
    const { doc, engine, bridge, refusals } = await setup();
    addNode(doc, 'a', { kind: 'core::passthrough', params: {} }, ed);
    addNode(doc, 'b', { kind: 'core::passthrough', params: {} }, ed);
    connect(
      doc,
      { from: { node: 'a', pin: 'out' }, to: { node: 'b', pin: 'in' }, mode: 'reliable' },
      ed,
    );
    await bridge.idle();
    connect(
      doc,
      { from: { node: 'b', pin: 'out' }, to: { node: 'a', pin: 'in' }, mode: 'reliable' },
      ed,
    );
    connect(
      doc,
      { from: { node: 'ghost', pin: 'out' }, to: { node: 'b', pin: 'in' }, mode: 'reliable' },
      ed,
    );
    await bridge.idle();
    expect(Object.keys(readPipeline(doc).connections)).toEqual(['a.out->b.in']);
    expect(engine.snapshot().connections).toHaveLength(1);
    expect(refusals.flatMap((r) => r.problems.map((p) => p.code))).toEqual([
      'cycle',
      'unknown_node',
    ]);
  });

  it('[E7][E9] a deferred connection the engine drops when its endpoint fails leaves the document', async () => {
    const { doc, engine, bridge, refusals } = await setup();
    // One gesture: the connect reaches the engine while `mic` is still creating (deferred).
    doc.transact(() => {
      addNode(doc, 'mic', { kind: 'test::fails', params: {} });
      addNode(doc, 'g', { kind: 'audio::gain', params: {} });
      connect(doc, {
        from: { node: 'mic', pin: 'out' },
        to: { node: 'g', pin: 'in' },
        mode: 'reliable',
      });
    }, ed.origin);
    await bridge.idle();
    for (let i = 0; i < 20 && engine.state('mic')?.status !== 'failed'; i++) await bridge.idle();
    expect(engine.state('mic')).toEqual({ status: 'failed', reason: 'creation failed: no device' });
    await bridge.idle();
    expect(readPipeline(doc).connections).toEqual({});
    expect(refusals).toEqual([]);
    // E9: the failed node stays visible until removed; a new connect to it is refused (E7).
    expect(Object.keys(readPipeline(doc).nodes).sort()).toEqual(['g', 'mic']);
    connect(
      doc,
      { from: { node: 'mic', pin: 'out' }, to: { node: 'g', pin: 'in' }, mode: 'reliable' },
      ed,
    );
    await bridge.idle();
    expect(readPipeline(doc).connections).toEqual({});
    expect(refusals.flatMap((r) => r.problems.map((p) => p.code))).toEqual(['node_failed']);
  });

  it('malformed writes by a raw client are undone without touching the engine; dangling connections are removed', async () => {
    const { doc, engine, bridge, refusals } = await setup();
    addNode(doc, 'a', { kind: 'core::passthrough', params: {} }, ed);
    addNode(doc, 'g', { kind: 'audio::gain', params: { gain: 2 } }, ed);
    connect(
      doc,
      { from: { node: 'a', pin: 'out' }, to: { node: 'g', pin: 'in' }, mode: 'reliable' },
      ed,
    );
    await bridge.idle();
    const { nodes } = documentMaps(doc);
    doc.transact(() => nodes.set('g', 42), ed.origin);
    await bridge.idle();
    expect(readPipeline(doc).nodes.g).toEqual({ kind: 'audio::gain', params: { gain: 2 } });
    expect(
      engine
        .snapshot()
        .nodes.map((n) => n.id)
        .sort(),
    ).toEqual(['a', 'g']);
    expect(refusals.at(-1)?.problems[0]?.code).toBe('bad_request');
    // Remove a node but leave its connection in the document.
    doc.transact(() => nodes.delete('a'), ed.origin);
    await bridge.idle();
    expect(engine.snapshot().nodes.map((n) => n.id)).toEqual(['g']);
    expect(readPipeline(doc).connections).toEqual({});
  });

  it('[S2][S4] a stamped edit reaches the engine with its stamp, and the stamp is swept from the document (S3)', async () => {
    const { doc, engine, bridge } = await setup();
    addNode(doc, 'g', { kind: 'audio::gain', params: {} }, ed);
    await bridge.idle();
    setParam(doc, 'g', 'gain', 3, { ...ed, stamp: { sender: SENDER, rev: 4 } });
    await bridge.idle();
    const node = engine.snapshot().nodes.find((n) => n.id === 'g');
    expect(node?.params.gain).toBe(3);
    expect(node?.vector).toEqual({ [SENDER]: 4 });
    expect(storedStamps(doc).size).toBe(0);
  });

  it('a per-role allowlist refuses kinds the role may not add', async () => {
    const { doc, bridge, refusals } = await setup(undefined, {
      allowedKinds: { editor: ['audio::*'] },
    });
    addNode(doc, 'ok', { kind: 'audio::gain', params: {} }, ed);
    addNode(doc, 'no', { kind: 'core::sink', params: {} }, ed);
    await bridge.idle();
    expect(Object.keys(readPipeline(doc).nodes)).toEqual(['ok']);
    expect(refusals[0]?.problems[0]?.code).toBe('kind_not_allowed');
  });

  it("a viewer's document write is undone whole", async () => {
    const { doc, bridge, refusals } = await setup();
    addNode(doc, 'g', { kind: 'audio::gain', params: {} }, ed);
    await bridge.idle();
    setParam(doc, 'g', 'gain', 5, { origin: originOf(VIEWER) });
    addNode(doc, 'h', { kind: 'audio::gain', params: {} }, { origin: originOf(VIEWER) });
    await bridge.idle();
    expect(readPipeline(doc).nodes).toEqual({ g: { kind: 'audio::gain', params: {} } });
    expect(refusals.map((r) => r.problems[0]?.code)).toEqual(['read_only', 'read_only']);
  });

  it('restore: the engine is built from the stored document; refused entries stay in the document', async () => {
    const stored: Pipeline = {
      mode: 'dynamic',
      nodes: {
        s: { kind: 'audio::sine', params: {} },
        g: { kind: 'audio::gain', params: { gain: 0.5 } },
        old: { kind: 'legacy::thing', params: { a: 1 } },
      },
      connections: {
        's.out->g.in': {
          from: { node: 's', pin: 'out' },
          to: { node: 'g', pin: 'in' },
          mode: 'reliable',
        },
        'g.out->old.in': {
          from: { node: 'g', pin: 'out' },
          to: { node: 'old', pin: 'in' },
          mode: 'reliable',
        },
      },
    };
    const { doc, engine, bridge, restored } = await setup(stored);
    expect(restored.map((p) => p.code).sort()).toEqual(['unknown_kind', 'unknown_node']);
    expect(
      engine
        .snapshot()
        .nodes.map((n) => n.id)
        .sort(),
    ).toEqual(['g', 's']);
    // An unrelated edit later keeps the stored entries the engine could not run.
    setParam(doc, 'g', 'gain', 0.7, ed);
    await bridge.idle();
    expect(readPipeline(doc)).toEqual({
      ...stored,
      nodes: { ...stored.nodes, g: { kind: 'audio::gain', params: { gain: 0.7 } } },
    });
  });
});

describe('session bridge: control ops and replace → engine and document', () => {
  it('[E15] apply writes accepted ops to the document; a refused batch changes nothing', async () => {
    const { doc, engine, bridge } = await setup();
    const applied = await bridge.apply(
      [
        { op: 'add_node', id: 'a', kind: 'audio::sine', params: {} },
        { op: 'add_node', id: 'm', kind: 'audio::mixer', params: {} },
        { op: 'connect', from: { node: 'a' }, to: { node: 'm' } },
      ],
      EDITOR,
    );
    expect(applied.ok).toBe(true);
    // The family pin the engine chose is what the document records.
    expect(Object.keys(readPipeline(doc).connections)).toEqual(['a.out->m.in_0']);
    const before = readPipeline(doc);
    const refused = await bridge.apply(
      [
        { op: 'add_node', id: 'b', kind: 'audio::sine', params: {} },
        { op: 'add_node', id: 'a', kind: 'audio::sine', params: {} },
      ],
      EDITOR,
    );
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.map((p) => p.code)).toEqual(['duplicate_node']);
    expect(readPipeline(doc)).toEqual(before);
    expect(engine.snapshot().nodes).toHaveLength(2);
    // A control tune writes only the keys it names into the document.
    const tuned = await bridge.apply(
      [{ op: 'tune', id: 'a', params: { frequency_hz: 220 } }],
      EDITOR,
    );
    expect(tuned.ok).toBe(true);
    expect(readPipeline(doc).nodes.a?.params).toEqual({ frequency_hz: 220 });
    expect(engine.snapshot().nodes.find((n) => n.id === 'a')?.params.frequency_hz).toBe(220);
    const viewer = await bridge.apply([{ op: 'remove_node', id: 'a' }], VIEWER);
    expect(viewer.ok ? 'ok' : viewer.error[0]?.code).toBe('read_only');
  });

  it('replace applies the difference; a bad pipeline reports every problem and changes nothing', async () => {
    const { doc, engine, bridge } = await setup();
    const good: Pipeline = {
      name: 'x',
      mode: 'dynamic',
      nodes: {
        s: { kind: 'audio::sine', params: {} },
        g: { kind: 'audio::gain', params: { gain: 2 } },
      },
      connections: {
        's.out->g.in': {
          from: { node: 's', pin: 'out' },
          to: { node: 'g', pin: 'in' },
          mode: 'reliable',
        },
      },
    };
    expect((await bridge.replace(good, EDITOR)).ok).toBe(true);
    expect(readPipeline(doc)).toEqual(good);
    const bad: Pipeline = {
      mode: 'dynamic',
      nodes: {
        s: { kind: 'audio::nope', params: {} },
        g: { kind: 'audio::gain', params: { gain: -1 } },
      },
      connections: {},
    };
    const r = await bridge.replace(bad, EDITOR);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error.map((p) => `${p.node}:${p.code}`).sort()).toEqual([
        'g:bad_params',
        's:unknown_kind',
      ]);
    expect(readPipeline(doc)).toEqual(good);
    expect(
      engine
        .snapshot()
        .nodes.map((n) => n.id)
        .sort(),
    ).toEqual(['g', 's']);
    expect(documentMaps(doc).nodes.size).toBe(2);
  });
});
