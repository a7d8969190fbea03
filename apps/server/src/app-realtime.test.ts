/**
 * The real server in-process (127.0.0.1, port 0, SQLite in a temp dir) driven by the stock
 * y-websocket provider and `ws` control clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { addNode, connect, readPipeline, setMeta, setParam } from '@patchbay/document';
import type { ControlEvent, Pipeline } from '@patchbay/protocol';
import { createServer } from './app';
import type { PatchbayServer } from './app';
import type { AuthConfig } from './auth/auth';
import { ControlClient, until } from './control/testing/control-client';
import { connectProvider, synced } from './yjs/testing/test-server';

const AUTH: AuthConfig = {
  tokens: [
    { token: 'tok-admin', name: 'ada', role: 'admin' },
    { token: 'tok-alice', name: 'alice', role: 'editor' },
    { token: 'tok-bob', name: 'bob', role: 'editor' },
    { token: 'tok-victor', name: 'victor', role: 'viewer' },
  ],
};
const SENDER = '44444444-4444-4444-8444-444444444444';

let dataDir: string;
let server: PatchbayServer;
const providers: WebsocketProvider[] = [];
const clients: ControlClient[] = [];

async function start(): Promise<PatchbayServer> {
  return createServer({
    dataDir,
    hostname: '127.0.0.1',
    demo: false,
    auth: AUTH,
    unloadDelayMs: 0,
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'patchbay-rt-'));
  server = await start();
});
afterEach(async () => {
  for (const p of providers.splice(0)) p.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function control(token: string): Promise<ControlClient> {
  const c = await ControlClient.open(server.url, token);
  clients.push(c);
  return c;
}

async function provider(
  session: string,
  token: string,
): Promise<{ doc: Y.Doc; provider: WebsocketProvider }> {
  const doc = new Y.Doc();
  const p = connectProvider(`${server.url.replace(/^http/, 'ws')}/yjs`, session, token, doc);
  providers.push(p);
  await synced(p);
  return { doc, provider: p };
}

async function newSession(c: ControlClient, yaml?: string): Promise<string> {
  const r = await c.request({ type: 'create_session', name: 'test', ...(yaml ? { yaml } : {}) });
  if (r.type !== 'ok') throw new Error(`create_session: ${r.message}`);
  return (r.result as { id: string }).id;
}

function engineOf(session: string) {
  return server.sessions.get(session).then((s) => {
    if (!s.ok) throw new Error(s.error.message);
    return s.value.engine;
  });
}

const GAIN_CHAIN = `name: chain
nodes:
  tone:
    kind: audio::sine
  gain:
    kind: audio::gain
    params: { gain: 1 }
    needs: tone
  sink:
    kind: core::sink
    needs: gain
`;

describe('shared document ↔ engine through the real server', () => {
  it('two providers converge on concurrent edits to different params of one node, and the engine runs both', async () => {
    const admin = await control('tok-admin');
    const session = await newSession(
      admin,
      `name: pip
nodes:
  bg: { kind: video::colorbars, params: { width: 64, height: 36, fps: 5 } }
  mix:
    kind: video::compositor
    params: { width: 64, height: 36, fps: 5 }
    needs: [bg]
`,
    );
    const a = await provider(session, 'tok-alice');
    const b = await provider(session, 'tok-bob');
    // Both edit before seeing each other's change.
    setParam(a.doc, 'mix', 'width', 128);
    setParam(b.doc, 'mix', 'height', 72);
    await until(() => {
      const pa = readPipeline(a.doc).nodes.mix?.params;
      const pb = readPipeline(b.doc).nodes.mix?.params;
      return pa?.width === 128 && pa.height === 72 && pb?.width === 128 && pb.height === 72;
    }, 'both providers to hold both edits');
    expect(readPipeline(a.doc)).toEqual(readPipeline(b.doc));
    const engine = await engineOf(session);
    await until(() => {
      const p = engine.snapshot().nodes.find((n) => n.id === 'mix')?.params;
      return p?.width === 128 && p.height === 72;
    }, 'the engine to run both edits');
  });

  it('[S2][S4] an edit through Yjs changes the running engine: states and stamped view data arrive on the control API', async () => {
    const admin = await control('tok-admin');
    const session = await newSession(admin);
    expect((await admin.request({ type: 'subscribe', session })).type).toBe('ok');
    const a = await provider(session, 'tok-alice');
    addNode(a.doc, 'bars', { kind: 'video::colorbars', params: { width: 64, height: 36, fps: 5 } });
    addNode(a.doc, 'mix', { kind: 'video::compositor', params: { width: 64, height: 36, fps: 5 } });
    connect(a.doc, {
      from: { node: 'bars', pin: 'out' },
      to: { node: 'mix', pin: 'in_0' },
      mode: 'reliable',
    });
    await until(
      () =>
        admin.events.some(
          (e) => e.type === 'node_state' && e.node === 'mix' && e.state.status === 'running',
        ),
      'mix to run',
    );
    setParam(a.doc, 'mix', ['layers', 'in_0', 'opacity'], 0.5, {
      stamp: { sender: SENDER, rev: 7 },
    });
    await until(
      () =>
        admin.events.some(
          (e: ControlEvent) =>
            e.type === 'node_view_data' && e.node === 'mix' && e.stamp.vector[SENDER] === 7,
        ),
      'view data stamped with the edit',
    );
    const engine = await engineOf(session);
    const mix = engine.snapshot().nodes.find((n) => n.id === 'mix');
    expect((mix?.params.layers as Record<string, { opacity: number }>).in_0?.opacity).toBe(0.5);
    // S3: the stamp never shows in the durable pipeline.
    const got = await admin.request({ type: 'get_pipeline', session, format: 'json' });
    expect(JSON.stringify(got)).not.toContain('_stamps');
  });

  it('[E6][E7] refused edits (duplicate id, unknown kind, cycle) are undone in both clients and the editor gets an error', async () => {
    const admin = await control('tok-admin');
    const session = await newSession(admin, GAIN_CHAIN);
    const alice = await control('tok-alice');
    await alice.request({ type: 'subscribe', session });
    const a = await provider(session, 'tok-alice');
    const b = await provider(session, 'tok-bob');
    const before = readPipeline(a.doc);
    addNode(a.doc, 'gain', { kind: 'audio::sine', params: {} }); // duplicate id
    addNode(a.doc, 'ghost', { kind: 'nope::nothing', params: {} }); // unknown kind
    connect(a.doc, {
      from: { node: 'sink', pin: 'out' },
      to: { node: 'tone', pin: 'in' },
      mode: 'reliable',
    });
    addNode(a.doc, 'p1', { kind: 'core::passthrough', params: {} });
    addNode(a.doc, 'p2', { kind: 'core::passthrough', params: {} });
    connect(a.doc, {
      from: { node: 'p1', pin: 'out' },
      to: { node: 'p2', pin: 'in' },
      mode: 'reliable',
    });
    connect(a.doc, {
      from: { node: 'p2', pin: 'out' },
      to: { node: 'p1', pin: 'in' },
      mode: 'reliable',
    }); // cycle
    const expected: Pipeline = JSON.parse(JSON.stringify(before)) as Pipeline;
    expected.nodes.p1 = { kind: 'core::passthrough', params: {} };
    expected.nodes.p2 = { kind: 'core::passthrough', params: {} };
    expected.connections['p1.out->p2.in'] = {
      from: { node: 'p1', pin: 'out' },
      to: { node: 'p2', pin: 'in' },
      mode: 'reliable',
    };
    // One refusal may list several problems (edits that arrived together are handled together).
    const codes = (): string[] =>
      alice.refusals().flatMap((p) => p.problems?.map((q) => q.code) ?? [p.code]);
    await until(
      () => ['duplicate_node', 'unknown_kind', 'cycle'].every((c) => codes().includes(c)),
      'the editor to be told of each refusal',
    );
    for (const d of [a.doc, b.doc]) {
      await until(
        () => isDeepStrictEqual(readPipeline(d), expected),
        'rollback to reach the client',
      );
    }
    expect(readPipeline(a.doc).nodes.gain?.kind).toBe('audio::gain');
    const engine = await engineOf(session);
    expect(
      engine
        .snapshot()
        .nodes.map((n) => n.id)
        .sort(),
    ).toEqual(['gain', 'p1', 'p2', 'sink', 'tone']);
  });

  it('a viewer cannot write: control ops are refused and Yjs writes are dropped', async () => {
    const admin = await control('tok-admin');
    const session = await newSession(admin, GAIN_CHAIN);
    const viewer = await control('tok-victor');
    const r = await viewer.request({ type: 'tune', session, id: 'gain', params: { gain: 9 } });
    expect(r).toMatchObject({ type: 'error', code: 'read_only' });
    const del = await viewer.request({ type: 'delete_session', session });
    expect(del).toMatchObject({ type: 'error', code: 'read_only' });
    // Reading and watching work.
    expect((await viewer.request({ type: 'subscribe', session })).type).toBe('ok');
    const v = await provider(session, 'tok-victor');
    const e = await provider(session, 'tok-alice');
    setParam(v.doc, 'gain', 'gain', 9);
    // An editor's later edit arrives; the viewer's never does.
    setParam(e.doc, 'tone', 'frequency_hz', 880);
    await until(() => {
      const p = readPipeline(e.doc).nodes;
      return p.tone?.params.frequency_hz === 880;
    }, 'the editor edit');
    const stored = await admin.request({ type: 'get_pipeline', session, format: 'json' });
    const pipeline = (stored as { result: { pipeline: Pipeline } }).result.pipeline;
    expect(pipeline.nodes.gain?.params.gain).toBe(1);
    expect(readPipeline(e.doc).nodes.gain?.params.gain).toBe(1);
    const engine = await engineOf(session);
    expect(engine.snapshot().nodes.find((n) => n.id === 'gain')?.params.gain).toBe(1);
  });

  it('control ops go through the document: every Yjs client sees them', async () => {
    const admin = await control('tok-admin');
    const session = await newSession(admin);
    const a = await provider(session, 'tok-alice');
    const add = await admin.request({ type: 'add_node', session, id: 'm', kind: 'audio::mixer' });
    expect(add.type).toBe('ok');
    await admin.request({ type: 'add_node', session, id: 's', kind: 'audio::sine' });
    const c = await admin.request({
      type: 'connect',
      session,
      from: { node: 's' },
      to: { node: 'm' },
    });
    expect(c).toMatchObject({ type: 'ok', result: { to: { node: 'm', pin: 'in_0' } } });
    await until(
      () => Object.keys(readPipeline(a.doc).connections).includes('s.out->m.in_0'),
      'the connection in the doc',
    );
    const batch = await admin.request({
      type: 'apply_batch',
      session,
      ops: [
        { op: 'add_node', id: 'x', kind: 'audio::gain' },
        { op: 'add_node', id: 'x', kind: 'audio::gain' },
      ],
    });
    expect(batch).toMatchObject({ type: 'error', code: 'batch_rejected' });
    expect(readPipeline(a.doc).nodes.x).toBeUndefined();
    // [E15] validate reports every problem and applies nothing.
    const checked = await admin.request({
      type: 'validate_batch',
      session,
      ops: [
        { op: 'add_node', id: 'y', kind: 'nope::x' },
        { op: 'add_node', id: 'in', kind: 'io::input' },
        { op: 'remove_node', id: 'ghost' },
      ],
    });
    expect(checked.type).toBe('ok');
    const problems = (checked as { result: { problems: Array<{ code: string }> } }).result.problems;
    expect(problems.map((p) => p.code)).toEqual(['unknown_kind', 'oneshot_only', 'unknown_node']);
    const ok = await admin.request({
      type: 'validate_batch',
      session,
      ops: [{ op: 'add_node', id: 'y', kind: 'audio::gain' }],
    });
    expect(ok).toEqual({ type: 'ok', result: { problems: [] } });
    expect(readPipeline(a.doc).nodes.y).toBeUndefined();
  });

  it('session events reach every control connection; subscribe returns current states; unsubscribe stops events', async () => {
    const admin = await control('tok-admin');
    const other = await control('tok-bob');
    const session = await newSession(admin, GAIN_CHAIN);
    await until(
      () => other.events.some((e) => e.type === 'session_created' && e.session === session),
      'session_created to reach another client',
    );
    const sub = await other.request({ type: 'subscribe', session });
    expect(sub.type).toBe('ok');
    const states = (sub as { result: { states: Record<string, { status: string }> } }).result
      .states;
    expect(Object.keys(states).sort()).toEqual(['gain', 'sink', 'tone']);
    expect((await other.request({ type: 'unsubscribe', session })).type).toBe('ok');
    const seen = other.events.length;
    await admin.request({ type: 'subscribe', session });
    await admin.request({ type: 'add_node', session, id: 'extra', kind: 'core::sink' });
    await until(
      () => admin.events.some((e) => e.type === 'node_state' && e.node === 'extra'),
      'the subscribed client to see the new node',
    );
    expect(
      other.events
        .slice(seen)
        .filter((e) => 'session' in e && e.session === session && e.type !== 'session_deleted'),
    ).toEqual([]);
    expect((await admin.request({ type: 'delete_session', session })).type).toBe('ok');
    await until(
      () => other.events.some((e) => e.type === 'session_deleted' && e.session === session),
      'session_deleted to reach another client',
    );
    const gone = await admin.request({ type: 'get_pipeline', session });
    expect(gone).toMatchObject({ type: 'error', code: 'not_found' });
  });

  it('[S8] a client that subscribes late gets every node’s state, its latest stats and the compositor’s layout at once', async () => {
    const admin = await control('tok-admin');
    const session = await newSession(
      admin,
      [
        'nodes:',
        '  bars: { kind: video::colorbars, params: { width: 64, height: 36, fps: 10 } }',
        '  mix: { kind: video::compositor, params: { width: 64, height: 36 }, needs: [bars] }',
      ].join('\n'),
    );
    await admin.request({ type: 'subscribe', session });
    await until(
      () => admin.events.some((e) => e.type === 'node_view_data' && e.node === 'mix'),
      'the compositor to publish its layout',
    );
    await until(
      () => admin.events.some((e) => e.type === 'node_stats' && e.node === 'bars'),
      'stats from the source',
    );
    const late = await control('tok-bob');
    expect((await late.request({ type: 'subscribe', session })).type).toBe('ok');
    // Before any further change, the late joiner already holds what the first client saw.
    const mine = (type: string, node: string) =>
      late.events.find((e) => e.type === type && 'node' in e && e.node === node);
    expect(mine('node_state', 'mix')).toMatchObject({ state: { status: 'running' } });
    expect(mine('node_state', 'bars')).toBeDefined();
    const layout = mine('node_view_data', 'mix') as { data: { layers?: unknown[] } } | undefined;
    expect(layout?.data.layers).toHaveLength(1);
    expect(mine('node_stats', 'bars')).toBeDefined();
    await admin.request({ type: 'delete_session', session });
  });

  it("the session list follows the pipeline's name, edited by any client", async () => {
    const admin = await control('tok-admin');
    const session = await newSession(admin, GAIN_CHAIN);
    const a = await provider(session, 'tok-alice');
    setMeta(a.doc, 'name', 'Renamed live');
    await until(() => server.sessions.openCount > 0, 'open');
    let names: unknown;
    await until(() => {
      void admin.request({ type: 'list_sessions' }).then((r) => {
        names = (
          r as { result: { sessions: Array<{ id: string; name: string }> } }
        ).result.sessions.find((x) => x.id === session)?.name;
      });
      return names === 'Renamed live';
    }, 'the list to show the new name');
  });

  it('10,000 malformed control messages (seeded) crash nothing; the connection stays up and other clients are unaffected', async () => {
    const admin = await control('tok-admin');
    const session = await newSession(admin, GAIN_CHAIN);
    const watcher = await control('tok-bob');
    await watcher.request({ type: 'subscribe', session });
    const fuzzer = await control('tok-alice');
    const seed = 20261124;
    const rand = mulberry32(seed);
    const N = 10_000;
    for (let i = 0; i < N; i++) fuzzer.sendRaw(malformed(rand, session));
    // Requests are answered in order: once this one is, every malformed frame has been answered.
    const ping = await fuzzer.request({ type: 'list_sessions' });
    expect(ping.type, `seed ${seed}`).toBe('ok');
    expect(fuzzer.open).toBe(true);
    expect(fuzzer.garbage).toEqual([]);
    expect(fuzzer.unmatched.length, `seed ${seed}`).toBe(N);
    expect(
      fuzzer.unmatched.every((p) => p.type === 'error'),
      `seed ${seed}`,
    ).toBe(true);
    // Another client still works, and still gets events.
    const tuned = await watcher.request({ type: 'tune', session, id: 'gain', params: { gain: 2 } });
    expect(tuned.type).toBe('ok');
    await admin.request({ type: 'add_node', session, id: 'late', kind: 'core::sink' });
    await until(
      () => watcher.events.some((e) => e.type === 'node_state' && e.node === 'late'),
      'events to keep flowing',
    );
  });
});

describe('demand runs over the control API', () => {
  it('[X5][X7] demand answers with a run id at once; run events reach every client watching the session', async () => {
    const admin = await control('tok-admin');
    const session = await newSession(
      admin,
      'nodes:\n  greet: { kind: text::input, params: { text: hello } }\n  show: { kind: text::output, needs: greet }\n',
    );
    const watcher = await control('tok-bob');
    await admin.request({ type: 'subscribe', session });
    await watcher.request({ type: 'subscribe', session });
    const r = await admin.request({ type: 'demand', session, node: 'show' });
    expect(r.type).toBe('ok');
    const run = (r as { result: { run: string } }).result.run;
    for (const c of [admin, watcher]) {
      await until(
        () => c.events.some((e) => e.type === 'run_completed' && e.run === run),
        'the run to complete for every watcher',
      );
      const done = c.events.find((e) => e.type === 'run_completed' && e.run === run);
      expect(JSON.stringify(done)).toContain('hello');
      expect(c.events.some((e) => e.type === 'run_started' && e.run === run)).toBe(true);
    }
    const viewer = await control('tok-victor');
    const refused = await viewer.request({ type: 'demand', session, node: 'show' });
    expect(refused).toMatchObject({ type: 'error', code: 'read_only' });
    const unknown = await admin.request({ type: 'cancel', session, run: 'no-such-run' });
    expect(unknown.type).toBe('error');
  });
});

describe('human input over the control API', () => {
  it('[X3] a run waiting on human::input finishes with the answer a client sends', async () => {
    const admin = await control('tok-admin');
    const session = await newSession(
      admin,
      'nodes:\n  ask: { kind: human::input, params: { prompt: name? } }\n  show: { kind: text::output, needs: ask }\n',
    );
    await admin.request({ type: 'subscribe', session });
    const r = await admin.request({ type: 'demand', session, node: 'show' });
    const run = (r as { result: { run: string } }).result.run;
    await until(
      () =>
        admin.events.some(
          (e) => e.type === 'node_run_waiting' && e.run === run && e.node === 'ask',
        ),
      'the run to wait for an answer',
    );
    const answered = await admin.request({
      type: 'answer',
      session,
      run,
      node: 'ask',
      value: 'Ada',
    });
    expect(answered.type).toBe('ok');
    await until(
      () => admin.events.some((e) => e.type === 'run_completed' && e.run === run),
      'the run to complete',
    );
    const done = admin.events.find((e) => e.type === 'run_completed' && e.run === run);
    expect(JSON.stringify(done)).toContain('Ada');
  });
});

describe('restart', () => {
  it('restarting the server restores every session and its engine', async () => {
    const admin = await control('tok-admin');
    const s1 = await newSession(admin, GAIN_CHAIN);
    const s2 = await newSession(admin);
    const a = await provider(s2, 'tok-alice');
    addNode(a.doc, 'solo', { kind: 'audio::sine', params: { frequency_hz: 220 } });
    await until(() => server.sessions.openCount > 0, 'sessions');
    const engine2 = await engineOf(s2);
    await until(
      () => engine2.snapshot().nodes.some((n) => n.id === 'solo'),
      'the edit to reach the engine',
    );
    const before = (await server.sessions.list()).ok ? await server.sessions.list() : undefined;
    const p1 = await server.sessions.pipeline(s1);
    const p2 = await server.sessions.pipeline(s2);
    for (const p of providers.splice(0)) p.destroy();
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();

    server = await start();
    expect(await server.sessions.list()).toEqual(before);
    expect(await server.sessions.pipeline(s1)).toEqual(p1);
    expect(await server.sessions.pipeline(s2)).toEqual(p2);
    const e1 = await engineOf(s1);
    const e2 = await engineOf(s2);
    expect(
      e1
        .snapshot()
        .nodes.map((n) => n.id)
        .sort(),
    ).toEqual(['gain', 'sink', 'tone']);
    expect(e1.snapshot().connections).toHaveLength(2);
    expect(e2.snapshot().nodes.map((n) => [n.id, n.params.frequency_hz])).toEqual([['solo', 220]]);
  });
});

// ------------------------------------------------------------------------------------------------

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

/** One malformed frame: random bytes, broken JSON, wrong shapes and types, bad values. */
function malformed(rand: () => number, session: string): string | Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const junk = (): unknown =>
    pick([null, true, 0, -1, 1e308, 'x', '', [], {}, [1, 2], { a: 1 }, '\u0000', 'ü'.repeat(5)]);
  switch (Math.floor(rand() * 10)) {
    case 0: {
      const bytes = Buffer.alloc(1 + Math.floor(rand() * 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
      return bytes; // binary frame
    }
    case 1:
      return JSON.stringify({ type: 'request', id: 1, payload: { type: 'list_sessions' } }).slice(
        0,
        Math.floor(rand() * 40),
      );
    case 2:
      return JSON.stringify(junk());
    case 3:
      return JSON.stringify({ type: pick(['response', 'event', 'REQUEST', 7]), payload: junk() });
    case 4:
      return JSON.stringify({
        type: 'request',
        id: pick([junk(), 5, 'q']),
        payload: { type: pick(['nope', '', 12]) },
      });
    case 5:
      return JSON.stringify({
        type: 'request',
        payload: { type: 'tune', session, id: junk(), params: junk() },
      });
    case 6:
      return JSON.stringify({
        type: 'request',
        id: Math.floor(rand() * 1000),
        payload: {
          type: 'add_node',
          session: pick([session, '../x', '', 'a b']),
          id: pick(['', '1bad', '💥']),
          kind: junk(),
        },
      });
    case 7: {
      let nested: unknown = 1;
      for (let i = 0; i < 70 + Math.floor(rand() * 50); i++) nested = [nested];
      return JSON.stringify({ type: 'request', payload: nested });
    }
    case 8:
      return JSON.stringify({
        type: 'request',
        payload: {
          type: 'apply_batch',
          session,
          ops: pick([{}, null, 'ops', [junk()], [{ op: 'explode' }]]),
        },
      });
    default:
      return JSON.stringify({
        type: 'request',
        id: 'z',
        payload: { type: 'connect', session, from: junk(), to: { node: 'gain' } },
      });
  }
}
