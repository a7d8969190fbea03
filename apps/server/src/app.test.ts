/** The HTTP surface of the real server in-process (127.0.0.1, port 0, SQLite in a temp dir). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setParam } from '@patchbay/document';
import { createServer } from './app';
import type { PatchbayServer } from './app';
import type { AuthConfig } from './auth/auth';
import { ControlClient, until } from './control/testing/control-client';
import { plantedContinuation } from '@patchbay/inference';
import { DEMO_SESSION_NAME, demoPipeline } from './sessions/demo';

const AUTH: AuthConfig = {
  tokens: [
    { token: 'tok-admin', name: 'ada', role: 'admin' },
    { token: 'tok-viewer', name: 'victor', role: 'viewer' },
  ],
};
const ADMIN = { authorization: 'Bearer tok-admin' };
const VIEWER = { authorization: 'Bearer tok-viewer' };
const SENDER = '55555555-5555-4555-8555-555555555555';

let server: PatchbayServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'patchbay-app-'));
  server = await createServer({ dataDir, hostname: '127.0.0.1', demo: false, auth: AUTH });
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { ...init, headers: { ...ADMIN, ...(init.headers ?? {}) } });
}

async function createSession(yaml?: string): Promise<string> {
  const res = await api('/api/v1/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'http test', ...(yaml ? { yaml } : {}) }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const CHAIN = `name: chain
description: a tone through a gain
nodes:
  tone:
    kind: audio::sine
    params: { frequency_hz: 330 }
  gain:
    kind: audio::gain
    params: { gain: 0.5 }
    needs: tone
  mix:
    kind: video::compositor
    params: { width: 64, height: 36, layers: { in_0: { opacity: 0.5 } } }
  sink:
    kind: core::sink
    needs: gain
`;

describe('basics', () => {
  it('GET /healthz answers {ok: true} as JSON', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('GET / serves an HTML page (the studio, or a placeholder naming Patchbay)', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('Patchbay');
  });

  it('unknown API paths are 404 with a JSON error', async () => {
    const res = await fetch(`${server.url}/api/v1/nope`, { headers: ADMIN });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 'not_found', message: 'no route /api/v1/nope' },
    });
  });

  it('the API needs a token; an unknown one is 401 with a JSON error', async () => {
    const none = await fetch(`${server.url}/api/v1/sessions`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const bad = await fetch(`${server.url}/api/v1/sessions`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(bad.status).toBe(401);
  });

  it('a control socket without a valid token is closed with 4401', async () => {
    const c = await ControlClient.open(server.url, 'nope');
    await until(() => c.closeCode !== undefined, 'the close');
    expect(c.closeCode).toBe(4401);
  });

  it('GET /api/v1/nodes lists every kind with pins, param schema and description', async () => {
    const res = await api('/api/v1/nodes');
    const { nodes } = (await res.json()) as {
      nodes: Array<{ kind: string; description: string; paramsSchema: unknown; inputs: unknown[] }>;
    };
    const kinds = nodes.map((n) => n.kind);
    for (const k of [
      'audio::sine',
      'audio::gain',
      'video::compositor',
      'audio::opus::encoder',
      'io::input',
    ])
      expect(kinds).toContain(k);
    const gain = nodes.find((n) => n.kind === 'audio::gain');
    expect(gain?.paramsSchema).toMatchObject({ type: 'object' });
    expect(gain?.description.length).toBeGreaterThan(0);
  });
});

describe('sessions and pipelines', () => {
  it('POST, GET and DELETE sessions; a viewer may list but not create or delete', async () => {
    const id = await createSession();
    const list = (await (await api('/api/v1/sessions')).json()) as {
      sessions: Array<{ id: string; name: string }>;
    };
    expect(list.sessions).toContainEqual({ id, name: 'http test' });
    const viewerList = await fetch(`${server.url}/api/v1/sessions`, { headers: VIEWER });
    expect(viewerList.status).toBe(200);
    const viewerCreate = await fetch(`${server.url}/api/v1/sessions`, {
      method: 'POST',
      headers: VIEWER,
      body: '{}',
    });
    expect(viewerCreate.status).toBe(403);
    expect(((await viewerCreate.json()) as { error: { code: string } }).error.code).toBe(
      'read_only',
    );
    const viewerDelete = await fetch(`${server.url}/api/v1/sessions/${id}`, {
      method: 'DELETE',
      headers: VIEWER,
    });
    expect(viewerDelete.status).toBe(403);
    expect((await api(`/api/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/api/v1/sessions/${id}/pipeline`)).status).toBe(404);
    expect((await api(`/api/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('POST with YAML that has problems creates nothing and lists every problem by node', async () => {
    const before = (await (await api('/api/v1/sessions')).json()) as { sessions: unknown[] };
    const res = await api('/api/v1/sessions', {
      method: 'POST',
      body: JSON.stringify({
        yaml: 'nodes:\n  a: { kind: nope::x }\n  b: { kind: audio::gain, params: { gain: -3 } }\n',
      }),
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as {
      error: { problems: Array<{ node: string; code: string }> };
    };
    expect(body.error.problems.map((p) => `${p.node}:${p.code}`).sort()).toEqual([
      'a:unknown_kind',
      'b:bad_params',
    ]);
    const after = (await (await api('/api/v1/sessions')).json()) as { sessions: unknown[] };
    expect(after.sessions).toEqual(before.sessions);
  });

  it('[S3] YAML GET/PUT round-trips byte-identical, with no _ keys even after a stamped edit', async () => {
    const id = await createSession(CHAIN);
    const s = await server.sessions.get(id);
    if (!s.ok) throw new Error(s.error.message);
    setParam(s.value.doc, 'mix', ['layers', 'in_0', 'opacity'], 0.75, {
      origin: 'test-client',
      stamp: { sender: SENDER, rev: 1 },
    });
    const first = await (await api(`/api/v1/sessions/${id}/pipeline?format=yaml`)).text();
    expect(first).toContain('opacity: 0.75');
    expect(first).not.toMatch(/(^|\s)_/m);
    const json = await (await api(`/api/v1/sessions/${id}/pipeline?format=json`)).text();
    expect(json).not.toContain('"_');
    const put = await api(`/api/v1/sessions/${id}/pipeline`, { method: 'PUT', body: first });
    expect(put.status).toBe(200);
    expect(await put.text()).toBe(first);
    const again = await (await api(`/api/v1/sessions/${id}/pipeline`)).text();
    expect(again).toBe(first);
    const bad = await api(`/api/v1/sessions/${id}/pipeline?format=xml`);
    expect(bad.status).toBe(400);
  });

  it('PUT applies a changed pipeline to the running engine', async () => {
    const id = await createSession(CHAIN);
    const res = await api(`/api/v1/sessions/${id}/pipeline`, {
      method: 'PUT',
      body: CHAIN.replace('gain: 0.5', 'gain: 0.25')
        .replace(/ {2}mix:\n.*\n.*\n/, '')
        .replace('name: chain', 'name: chain two'),
    });
    expect(res.status).toBe(200);
    // The session list follows the pipeline's name.
    const list = (await (await api('/api/v1/sessions')).json()) as {
      sessions: Array<{ id: string; name: string }>;
    };
    expect(list.sessions.find((x) => x.id === id)?.name).toBe('chain two');
    const s = await server.sessions.get(id);
    if (!s.ok) throw new Error(s.error.message);
    const nodes = s.value.engine.snapshot().nodes;
    expect(nodes.map((n) => n.id).sort()).toEqual(['gain', 'sink', 'tone']);
    expect(nodes.find((n) => n.id === 'gain')?.params.gain).toBe(0.25);
  });

  it('PUT of bad YAML returns per-node errors and leaves the session unchanged', async () => {
    const id = await createSession(CHAIN);
    const before = await (await api(`/api/v1/sessions/${id}/pipeline`)).text();
    const cases: Array<[string, number, string[]]> = [
      [
        'nodes:\n  tone: { kind: audio::sine }\n  gain: { kind: audio::gain, params: { gain: 99 }, needs: tone }\n  x: { kind: nope::nothing }\n',
        422,
        ['gain:bad_params', 'x:unknown_kind'],
      ],
      [
        'nodes:\n  a: { kind: core::passthrough, needs: b }\n  b: { kind: core::passthrough, needs: a }\n',
        422,
        ['a:cycle'],
      ],
      ['nodes:\n  in: { kind: io::input }\n', 422, ['in:oneshot_only']],
      ['nodes: [unclosed\n  : :', 400, []],
    ];
    for (const [yaml, status, expected] of cases) {
      const res = await api(`/api/v1/sessions/${id}/pipeline`, { method: 'PUT', body: yaml });
      expect(res.status, yaml).toBe(status);
      const body = (await res.json()) as {
        error: { code: string; problems?: Array<{ node?: string; code: string }> };
      };
      if (expected.length > 0) {
        expect(body.error.problems?.map((p) => `${p.node}:${p.code}`).sort(), yaml).toEqual(
          expected,
        );
      } else expect(body.error.code).toBe('bad_yaml');
      expect(await (await api(`/api/v1/sessions/${id}/pipeline`)).text()).toBe(before);
    }
    const viewer = await fetch(`${server.url}/api/v1/sessions/${id}/pipeline`, {
      method: 'PUT',
      headers: VIEWER,
      body: CHAIN,
    });
    expect(viewer.status).toBe(403);
    expect(await (await api(`/api/v1/sessions/${id}/pipeline`)).text()).toBe(before);
  });
});

describe('POST /api/v1/process (oneshot)', () => {
  function form(config: string, fields: Record<string, Uint8Array | string> = {}): FormData {
    const f = new FormData();
    f.append('config', config);
    for (const [k, v] of Object.entries(fields))
      f.append(k, typeof v === 'string' ? v : new Blob([v]));
    return f;
  }

  it('a sine → opus → ogg YAML streams an Ogg Opus file', async () => {
    const yaml = readFileSync(
      join(__dirname, '../../../samples/tone-ogg-opus.yml'),
      'utf8',
    ).replace('duration_ms: 2000', 'duration_ms: 500');
    const res = await api('/api/v1/process', { method: 'POST', body: form(yaml) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/ogg');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('OggS');
    expect(Buffer.from(bytes).includes(Buffer.from('OpusHead'))).toBe(true);
    // Ogg pages: every one starts with OggS; a half-second at 20 ms packets spans several.
    const pages = Buffer.from(bytes).toString('latin1').split('OggS').length - 1;
    expect(pages).toBeGreaterThan(2);
  });

  it('[C6] a node that fails before any output makes the response a 422 naming the node', async () => {
    const yaml = `mode: oneshot
nodes:
  upload: { kind: io::input, params: { name: upload } }
  pass: { kind: core::passthrough, needs: upload }
  decode: { kind: audio::opus::decoder, needs: pass }
  out: { kind: io::output, needs: decode }
`;
    const res = await api('/api/v1/process', {
      method: 'POST',
      body: form(yaml, { upload: new Uint8Array(4096).fill(7) }),
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; node?: string; message: string } };
    expect(body.error.code).toBe('run_failed');
    expect(body.error.node).toBe('decode');
  });

  it('[C6] a node that fails after output began aborts the body: the client sees a failed transfer, never a clean short file', async () => {
    // The Ogg stream feeds the output and, a few hops later, a decoder that cannot read it:
    // the output's first bytes are sent before the decoder fails.
    const yaml = `mode: oneshot
nodes:
  tone: { kind: audio::sine, params: { duration_ms: 20000 } }
  encode: { kind: audio::opus::encoder, needs: tone }
  ogg: { kind: containers::ogg::muxer, params: { channels: 1 }, needs: encode }
  out: { kind: io::output, needs: ogg }
  p1: { kind: core::passthrough, needs: ogg }
  p2: { kind: core::passthrough, needs: p1 }
  p3: { kind: core::passthrough, needs: p2 }
  decode: { kind: audio::opus::decoder, needs: p3 }
  sink: { kind: core::sink, needs: decode }
`;
    const res = await api('/api/v1/process', { method: 'POST', body: form(yaml) });
    if (res.status === 200) {
      await expect(res.arrayBuffer()).rejects.toThrow();
    } else {
      expect(res.status).toBe(422);
      expect(((await res.json()) as { error: { node?: string } }).error.node).toBe('decode');
    }
  });

  it('bad requests are refused before anything runs', async () => {
    const noConfig = new FormData();
    noConfig.append('upload', 'x');
    noConfig.append('config', 'nodes: {}');
    expect((await api('/api/v1/process', { method: 'POST', body: noConfig })).status).toBe(400);
    const missingField = await api('/api/v1/process', {
      method: 'POST',
      body: form(
        'nodes:\n  in: { kind: io::input, params: { name: clip } }\n  out: { kind: io::output, needs: in }\n',
      ),
    });
    expect(missingField.status).toBe(400);
    expect(((await missingField.json()) as { error: { node?: string } }).error.node).toBe('in');
    const badYaml = await api('/api/v1/process', {
      method: 'POST',
      body: form('nodes:\n  x: { kind: nope }\n'),
    });
    expect(badYaml.status).toBe(422);
    const notMultipart = await api('/api/v1/process', { method: 'POST', body: 'hello' });
    expect(notMultipart.status).toBe(400);
    const viewer = await fetch(`${server.url}/api/v1/process`, {
      method: 'POST',
      headers: VIEWER,
      body: form('nodes: {}'),
    });
    expect(viewer.status).toBe(403);
  });
});

describe('/metrics', () => {
  it('exposes node states, packets, WebSocket connections, open rooms, updates/s and storage latency', async () => {
    const id = await createSession(CHAIN);
    const control = await ControlClient.open(server.url, 'tok-admin');
    try {
      const s = await server.sessions.get(id);
      if (!s.ok) throw new Error(s.error.message);
      // Packets flow on the realtime clock; stats are flushed every 250 ms.
      await until(() => {
        const text = server.metrics.render();
        return new RegExp(
          `patchbay_node_packets\\{direction="out",node="tone",session="${id}"\\} [1-9]`,
        ).test(text);
      }, 'packet counts');
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toMatch(
        new RegExp(
          `patchbay_node_state\\{kind="audio::sine",node="tone",session="${id}",state="running"\\} 1`,
        ),
      );
      expect(text).toMatch(/# TYPE patchbay_node_packets gauge/);
      expect(text).toMatch(/patchbay_websocket_connections\{endpoint="control"\} [1-9]/);
      expect(text).toMatch(/patchbay_yjs_rooms \d+/);
      expect(text).toMatch(/patchbay_yjs_updates_per_second \d/);
      expect(text).toMatch(/patchbay_storage_latency_ms_count\{op="append"\} [1-9]/);
      // Exactly one state series per node reads 1 (E13).
      const tone = text
        .split('\n')
        .filter(
          (l) => l.includes(`node="tone",session="${id}"`) && l.startsWith('patchbay_node_state'),
        );
      expect(tone.filter((l) => l.endsWith(' 1'))).toHaveLength(1);
    } finally {
      await control.close();
    }
  });
});

describe('demo session', () => {
  it('is created on first start only: a restart keeps one, and deleting it sticks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patchbay-demo-'));
    try {
      let s = await createServer({ dataDir: dir, hostname: '127.0.0.1' });
      const first = await s.sessions.list();
      expect(first.ok && first.value.map((x) => x.name)).toEqual([DEMO_SESSION_NAME]);
      const id = first.ok ? (first.value[0]?.id ?? '') : '';
      const open = await s.sessions.get(id);
      if (!open.ok) throw new Error(open.error.message);
      const nodes = open.value.engine.snapshot().nodes;
      expect(nodes.map((n) => n.id).sort()).toEqual(
        Object.keys(demoPipeline('models/m.gguf').nodes).sort(),
      );
      expect(nodes.filter((n) => n.state.status === 'failed')).toEqual([]);
      // The LLM chain runs on the model generated into the data dir: the planted continuation.
      const engine = open.value.engine;
      const ended = new Promise<unknown>((resolve) => {
        const off = engine.subscribe((e) => {
          if (e.type === 'run_completed' || e.type === 'run_failed') {
            off();
            resolve(e);
          }
        });
      });
      expect((await engine.demand('answer')).ok).toBe(true);
      expect(await ended).toMatchObject({
        type: 'run_completed',
        output: plantedContinuation('once upon a', 24).text,
      });
      await s.close();

      s = await createServer({ dataDir: dir, hostname: '127.0.0.1' });
      expect(await s.sessions.list()).toEqual(first);
      expect((await s.sessions.delete(id, undefined)).ok).toBe(true);
      await s.close();

      s = await createServer({ dataDir: dir, hostname: '127.0.0.1' });
      expect(await s.sessions.list()).toEqual({ ok: true, value: [] });
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('body limits', () => {
  it('an oversized pipeline body is refused with 413, also without content-length', async () => {
    const id = await createSession();
    const big = `name: ${'x'.repeat(5 * 1024 * 1024)}\n`;
    const res = await api(`/api/v1/sessions/${id}/pipeline`, { method: 'PUT', body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('frame_too_large');
    // Node's fetch needs `duplex` for a streamed body (no content-length is sent).
    const chunked = await api(`/api/v1/sessions/${id}/pipeline`, {
      method: 'PUT',
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });
});

describe('shutdown', () => {
  it('a client that never finishes its request does not hold up close(): its socket is closed after a short grace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patchbay-close-'));
    const own = await createServer({ dataDir: dir, hostname: '127.0.0.1', demo: false });
    const { port } = new URL(own.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // Headers never end: Node counts the connection as busy until headersTimeout (60 s).
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const closedByServer = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const closing = own.close();
    await closedByServer;
    await closing;
    rmSync(dir, { recursive: true, force: true });
  }, 15_000);
});
