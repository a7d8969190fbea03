import { describe, expect, it } from 'vitest';
import {
  CONTROL_EVENT_TYPES,
  CONTROL_REQUEST_TYPES,
  ControlRequestSchema,
  MAX_CONTROL_FRAME_BYTES,
  MAX_CONTROL_NESTING_DEPTH,
  controlRequest,
  errorResponse,
  event,
  graphOpOfRequest,
  isGraphOpRequest,
  okResponse,
  parseClientMessage,
  parseControlResult,
  parseServerMessage,
  requestSession,
} from './control';
import type {
  ControlEvent,
  ControlEventType,
  ControlParseProblem,
  ControlRequestInput,
  ControlRequestType,
  ControlResult,
} from './control';
import { ErrorCode } from './errors';
import type { Result } from './errors';
import { GraphOpSchema } from './ops';

const A = '0b7c6f1e-3f4a-4c1b-9d2e-5a6b7c8d9e0f';
const B = '1c8d7a2f-4a5b-4d2c-8e3f-6b7c8d9e0f1a';

/** One sample per request type, as a client writes it (defaults omitted). */
const REQUESTS: Record<ControlRequestType, ControlRequestInput> = {
  add_node: {
    type: 'add_node',
    session: 's1',
    id: 'gain',
    kind: 'audio::gain',
    params: { gain: 0.5 },
  },
  remove_node: { type: 'remove_node', session: 's1', id: 'gain' },
  connect: {
    type: 'connect',
    session: 's1',
    from: { node: 'sine', pin: 'out' },
    to: { node: 'mix' },
  },
  disconnect: {
    type: 'disconnect',
    session: 's1',
    from: { node: 'sine', pin: 'out' },
    to: { node: 'mix', pin: 'in_0' },
  },
  tune: {
    type: 'tune',
    session: 's1',
    id: 'mix',
    params: { width: 640 },
    stamp: { sender: A, rev: 3 },
  },
  validate_batch: {
    type: 'validate_batch',
    session: 's1',
    ops: [
      { op: 'add_node', id: 'a', kind: 'audio::sine' },
      { op: 'connect', from: { node: 'a', pin: 'out' }, to: { node: 'b', pin: 'in' } },
    ],
  },
  apply_batch: {
    type: 'apply_batch',
    session: 's1',
    ops: [
      { op: 'remove_node', id: 'a' },
      { op: 'add_node', id: 'a', kind: 'audio::sine', params: { frequency_hz: 440 } },
      { op: 'tune', id: 'a', params: { frequency_hz: 220 } },
      { op: 'disconnect', from: { node: 'a', pin: 'out' }, to: { node: 'b', pin: 'in' } },
    ],
  },
  demand: { type: 'demand', session: 's1', node: 'answer' },
  cancel: { type: 'cancel', session: 's1', run: 'run-1' },
  answer: { type: 'answer', session: 's1', run: 'run-1', node: 'ask', value: 'yes' },
  subscribe: { type: 'subscribe', session: 's1' },
  unsubscribe: { type: 'unsubscribe', session: 's1' },
  list_sessions: { type: 'list_sessions' },
  create_session: { type: 'create_session', name: 'Demo', yaml: 'nodes: {}\n' },
  delete_session: { type: 'delete_session', session: 's1' },
  get_pipeline: { type: 'get_pipeline', session: 's1', format: 'json' },
};

/** One sample per event type. */
const EVENTS: Record<ControlEventType, ControlEvent> = {
  node_state: {
    type: 'node_state',
    session: 's1',
    node: 'n',
    state: { status: 'failed', reason: 'boom' },
  },
  node_removed: { type: 'node_removed', session: 's1', node: 'n' },
  node_stats: { type: 'node_stats', session: 's1', node: 'n', stats: { packets: 10, dropped: 0 } },
  node_view_data: {
    type: 'node_view_data',
    session: 's1',
    node: 'mix',
    data: { layers: { in_0: { x: 0, y: 0, width: 10, height: 10 } } },
    stamp: { vector: { [A]: 5, [B]: 2 }, cause: 'edit' },
  },
  connection_removed: {
    type: 'connection_removed',
    session: 's1',
    from: { node: 'a', pin: 'out' },
    to: { node: 'b', pin: 'in' },
    reason: 'node b failed',
  },
  node_stream: { type: 'node_stream', session: 's1', run: 'r1', node: 'llm', chunk: 'Hel' },
  run_started: { type: 'run_started', session: 's1', run: 'r1', node: 'out' },
  run_completed: { type: 'run_completed', session: 's1', run: 'r1', output: 'Hello' },
  run_failed: {
    type: 'run_failed',
    session: 's1',
    run: 'r1',
    reason: 'model missing',
    node: 'llm',
  },
  run_cancelled: { type: 'run_cancelled', session: 's1', run: 'r1' },
  node_run_started: { type: 'node_run_started', session: 's1', run: 'r1', node: 'llm' },
  node_run_completed: {
    type: 'node_run_completed',
    session: 's1',
    run: 'r1',
    node: 'llm',
    output: { text: 'Hello' },
    cached: true,
  },
  node_run_failed: {
    type: 'node_run_failed',
    session: 's1',
    run: 'r1',
    node: 'llm',
    reason: 'oom',
    code: 'inference_failed',
  },
  node_run_cancelled: { type: 'node_run_cancelled', session: 's1', run: 'r1', node: 'llm' },
  node_run_skipped: { type: 'node_run_skipped', session: 's1', run: 'r1', node: 'else_branch' },
  node_run_progress: {
    type: 'node_run_progress',
    session: 's1',
    run: 'r1',
    node: 'model',
    fraction: 0.5,
    label: 'loading model',
  },
  node_run_waiting: {
    type: 'node_run_waiting',
    session: 's1',
    run: 'r1',
    node: 'ask',
    prompt: 'Approve?',
  },
  session_created: { type: 'session_created', session: 's2', name: 'New' },
  session_deleted: { type: 'session_deleted', session: 's2' },
};

const CODES = new Set<string>(Object.values(ErrorCode));

function expectError(
  result: Result<unknown, ControlParseProblem>,
  code: ErrorCode,
  messageStart?: string,
): ControlParseProblem {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.code).toBe(code);
  if (messageStart !== undefined) expect(result.error.message.startsWith(messageStart)).toBe(true);
  return result.error;
}

function parseOk(raw: unknown) {
  const result = parseClientMessage(raw);
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** mulberry32: small, seedable, good enough for fuzzing. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('control requests', () => {
  it('the samples cover every request type', () => {
    expect(Object.keys(REQUESTS).sort()).toEqual([...CONTROL_REQUEST_TYPES].sort());
    expect(CONTROL_REQUEST_TYPES).toHaveLength(16);
  });

  for (const type of CONTROL_REQUEST_TYPES) {
    it(`${type} round-trips through JSON text`, () => {
      const frame = controlRequest(7, REQUESTS[type]);
      const first = parseOk(JSON.stringify(frame));
      expect(first.type).toBe('request');
      expect(first.id).toBe(7);
      expect(first.payload.type).toBe(type);
      expect(first.payload).toEqual(ControlRequestSchema.parse(REQUESTS[type]));
      // What the server parsed serialises back to the same request (defaults now explicit).
      const second = parseOk(JSON.stringify(first));
      expect(second).toEqual(first);
      // An already-parsed value gives the same result as its text.
      expect(parseOk(JSON.parse(JSON.stringify(frame)))).toEqual(first);
    });
  }

  it('fills defaults: params {}, mode reliable, format yaml', () => {
    const add = parseOk({
      type: 'request',
      payload: { type: 'add_node', session: 's', id: 'x', kind: 'k' },
    });
    expect(add.payload).toMatchObject({ params: {} });
    const conn = parseOk({
      type: 'request',
      payload: { type: 'connect', session: 's', from: { node: 'a' }, to: { node: 'b' } },
    });
    expect(conn.payload).toMatchObject({ mode: 'reliable' });
    const get = parseOk({ type: 'request', payload: { type: 'get_pipeline', session: 's' } });
    expect(get.payload).toMatchObject({ format: 'yaml' });
  });

  it('accepts string ids, and no id at all', () => {
    expect(parseOk({ type: 'request', id: 'abc', payload: { type: 'list_sessions' } }).id).toBe(
      'abc',
    );
    const noId = parseOk('{"type":"request","payload":{"type":"list_sessions"}}');
    expect(noId.id).toBeUndefined();
    expect('id' in noId).toBe(false);
    expect(controlRequest(undefined, { type: 'list_sessions' })).toEqual({
      type: 'request',
      payload: { type: 'list_sessions' },
    });
  });

  it('strips unknown keys rather than passing them on', () => {
    const msg = parseOk({
      type: 'request',
      extra: 1,
      payload: { type: 'subscribe', session: 's', x: 2 },
    });
    expect(msg).toEqual({ type: 'request', payload: { type: 'subscribe', session: 's' } });
  });

  it('graph op requests map to engine ops that the op schema accepts', () => {
    for (const type of CONTROL_REQUEST_TYPES) {
      const req = ControlRequestSchema.parse(REQUESTS[type]);
      expect(requestSession(req)).toBe(
        type === 'list_sessions' || type === 'create_session' ? undefined : 's1',
      );
      if (!isGraphOpRequest(req)) {
        expect(['add_node', 'remove_node', 'connect', 'disconnect', 'tune']).not.toContain(type);
        continue;
      }
      const op = graphOpOfRequest(req);
      expect(op.op).toBe(type);
      expect(GraphOpSchema.parse(op)).toEqual(op);
      expect('session' in op).toBe(false);
      expect('type' in op).toBe(false);
    }
    const tune = ControlRequestSchema.parse(REQUESTS.tune);
    if (!isGraphOpRequest(tune)) throw new Error('unreachable');
    expect(graphOpOfRequest(tune)).toEqual({
      op: 'tune',
      id: 'mix',
      params: { width: 640 },
      stamp: { sender: A, rev: 3 },
    });
  });
});

describe('parseClientMessage: bad input', () => {
  it('malformed JSON → bad_message', () => {
    for (const raw of [
      '',
      '{',
      '{"type":',
      'undefined',
      "{'type':'request'}",
      '{"a":1,}',
      'NaN',
      '[1,2',
      '\u0000',
    ]) {
      expectError(parseClientMessage(raw), 'bad_message');
    }
  });

  it('binary frames → bad_message; oversized ones → frame_too_large', () => {
    expectError(parseClientMessage(new Uint8Array([123, 125])), 'bad_message');
    expectError(parseClientMessage(new ArrayBuffer(4)), 'bad_message');
    expectError(parseClientMessage(new Uint8Array(MAX_CONTROL_FRAME_BYTES + 1)), 'frame_too_large');
  });

  it('frames above MAX_CONTROL_FRAME_BYTES (1 MiB of UTF-8) → frame_too_large', () => {
    expect(MAX_CONTROL_FRAME_BYTES).toBe(1024 * 1024);
    const base = JSON.stringify({ type: 'request', payload: { type: 'create_session', name: '' } });
    const pad = (filler: string, bytesPerUnit: number, bytes: number) =>
      base.replace(
        '"name":""',
        `"name":"${filler.repeat(Math.floor((bytes - base.length) / bytesPerUnit))}"`,
      );
    // Exactly at the limit is fine (ASCII: bytes = length). The name is long but a frame that
    // size still parses, then fails the name's max length: not a size error.
    const atLimit = pad('a', 1, MAX_CONTROL_FRAME_BYTES);
    expect(atLimit.length).toBe(MAX_CONTROL_FRAME_BYTES);
    expectError(parseClientMessage(atLimit), 'bad_request', 'payload.name');
    expectError(parseClientMessage(atLimit + ' '), 'frame_too_large');
    // Two-byte characters: under 1 Mi UTF-16 units but over 1 MiB of UTF-8.
    const twoByte = pad('é', 2, MAX_CONTROL_FRAME_BYTES + 2);
    expect(twoByte.length).toBeLessThan(MAX_CONTROL_FRAME_BYTES);
    expectError(parseClientMessage(twoByte), 'frame_too_large');
    // Surrogate pairs are 4 bytes for 2 units; three-byte characters 3 for 1.
    expectError(parseClientMessage(pad('😀', 4, MAX_CONTROL_FRAME_BYTES + 4)), 'frame_too_large');
    expectError(parseClientMessage(pad('€', 3, MAX_CONTROL_FRAME_BYTES + 3)), 'frame_too_large');
    // …and just under the limit with multibyte characters is not too large.
    const under = pad('€', 3, MAX_CONTROL_FRAME_BYTES - 3);
    expectError(parseClientMessage(under), 'bad_request', 'payload.name');
  });

  it('a non-object message → bad_request at the root', () => {
    for (const raw of ['42', 'null', '"request"', '[]', 'true', '[{"type":"request"}]']) {
      expectError(parseClientMessage(raw), 'bad_request', 'message:');
    }
  });

  it('a frame that is not a request → bad_request naming type', () => {
    for (const type of [undefined, 'response', 'event', 'REQUEST', 3]) {
      expectError(
        parseClientMessage({ type, payload: { type: 'list_sessions' } }),
        'bad_request',
        'type:',
      );
    }
  });

  it('a missing or non-object payload → bad_request naming payload', () => {
    expectError(parseClientMessage({ type: 'request' }), 'bad_request', 'payload');
    expectError(parseClientMessage({ type: 'request', payload: [] }), 'bad_request', 'payload');
    expectError(
      parseClientMessage({ type: 'request', payload: {} }),
      'bad_request',
      'payload.type',
    );
  });

  it('an unknown request type → bad_request naming it', () => {
    const e = expectError(
      parseClientMessage({ type: 'request', id: 1, payload: { type: 'launch_rockets' } }),
      'bad_request',
      'payload.type:',
    );
    expect(e.message).toContain('launch_rockets');
    expect(e.id).toBe(1);
  });

  it('names the first path that failed', () => {
    const cases: [unknown, string][] = [
      [{ type: 'add_node', id: 'x', kind: 'k' }, 'payload.session'],
      [{ type: 'add_node', session: 's', id: '1bad', kind: 'k' }, 'payload.id'],
      [{ type: 'add_node', session: 's', id: 'x', kind: '' }, 'payload.kind'],
      [{ type: 'add_node', session: 'has space', id: 'x', kind: 'k' }, 'payload.session'],
      [{ type: 'add_node', session: 's', id: 'x', kind: 'k', params: [] }, 'payload.params'],
      [
        { type: 'add_node', session: 's', id: 'x', kind: 'k', position: { x: 1 } },
        'payload.position.y',
      ],
      [{ type: 'connect', session: 's', from: { node: 'a' }, to: {} }, 'payload.to.node'],
      [
        { type: 'connect', session: 's', from: { node: 'a' }, to: { node: 'b' }, mode: 'x' },
        'payload.mode',
      ],
      [
        { type: 'disconnect', session: 's', from: { node: 'a', pin: 'o' }, to: { node: 'b' } },
        'payload.to.pin',
      ],
      [{ type: 'tune', session: 's', id: 'x' }, 'payload.params'],
      [
        { type: 'tune', session: 's', id: 'x', params: {}, stamp: { sender: 'me', rev: 1 } },
        'payload.stamp.sender',
      ],
      [
        { type: 'tune', session: 's', id: 'x', params: {}, stamp: { sender: A, rev: -1 } },
        'payload.stamp.rev',
      ],
      [
        { type: 'tune', session: 's', id: 'x', params: {}, stamp: { sender: A, rev: 1.5 } },
        'payload.stamp.rev',
      ],
      [{ type: 'validate_batch', session: 's' }, 'payload.ops'],
      [{ type: 'apply_batch', session: 's', ops: {} }, 'payload.ops'],
      [
        {
          type: 'apply_batch',
          session: 's',
          ops: [
            { op: 'remove_node', id: 'a' },
            { op: 'remove_node', id: 'b' },
            { op: 'add_node', id: 'c' },
          ],
        },
        'payload.ops[2].kind',
      ],
      [{ type: 'apply_batch', session: 's', ops: [{ op: 'explode' }] }, 'payload.ops[0].op'],
      [{ type: 'demand', session: 's' }, 'payload.node'],
      [{ type: 'cancel', session: 's', run: '' }, 'payload.run'],
      [{ type: 'subscribe' }, 'payload.session'],
      [{ type: 'create_session', name: 5 }, 'payload.name'],
      [{ type: 'create_session', yaml: { nodes: {} } }, 'payload.yaml'],
      [{ type: 'delete_session', session: '' }, 'payload.session'],
      [{ type: 'get_pipeline', session: 's', format: 'xml' }, 'payload.format'],
    ];
    for (const [payload, path] of cases) {
      const e = expectError(
        parseClientMessage({ type: 'request', id: 'q', payload }),
        'bad_request',
      );
      expect(e.message.split(':')[0], JSON.stringify(payload)).toBe(path);
      expect(e.id).toBe('q');
    }
  });

  it('a bad id → bad_request naming id, and no id echoed', () => {
    for (const id of [-1, 1.5, '', {}, [], true, 'x'.repeat(129)]) {
      const e = expectError(
        parseClientMessage({ type: 'request', id, payload: { type: 'list_sessions' } }),
        'bad_request',
        'id:',
      );
      expect(e.id).toBeUndefined();
    }
  });

  it('an exotic already-parsed value (throwing getter) → bad_request, no throw', () => {
    const evil = {
      type: 'request',
      get payload(): unknown {
        throw new Error('gotcha');
      },
    };
    expectError(parseClientMessage(evil), 'bad_request');
  });

  it('__proto__ and constructor keys are plain data', () => {
    const raw =
      '{"type":"request","payload":{"type":"tune","session":"s","id":"x","params":{"__proto__":{"polluted":1},"constructor":2}}}';
    const msg = parseOk(raw);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(msg.payload.type).toBe('tune');
  });
});

describe('responses and events', () => {
  it('okResponse: with and without id and result', () => {
    expect(okResponse(1)).toEqual({ type: 'response', id: 1, payload: { type: 'ok' } });
    expect(okResponse('a', { run: 'r1' })).toEqual({
      type: 'response',
      id: 'a',
      payload: { type: 'ok', result: { run: 'r1' } },
    });
    const anonymous = okResponse(undefined);
    expect('id' in anonymous).toBe(false);
    expect('result' in okResponse(2).payload).toBe(false);
  });

  it('errorResponse: code, message, node, problems; nothing else', () => {
    expect(errorResponse(3, { code: 'unknown_node', message: 'no node x', node: 'x' })).toEqual({
      type: 'response',
      id: 3,
      payload: { type: 'error', code: 'unknown_node', message: 'no node x', node: 'x' },
    });
    const parsed = parseClientMessage('{');
    if (parsed.ok) throw new Error('unreachable');
    const noId = errorResponse(parsed.error.id, parsed.error);
    expect(noId).toEqual({
      type: 'response',
      payload: { type: 'error', code: 'bad_message', message: 'frame is not valid JSON' },
    });
    const batch = errorResponse(4, {
      code: 'batch_rejected',
      message: '2 problems',
      problems: [
        { code: 'duplicate_node', message: 'a exists', node: 'a' },
        { code: 'cycle', message: 'a → b → a' },
      ],
    });
    expect(batch.payload).toEqual({
      type: 'error',
      code: 'batch_rejected',
      message: '2 problems',
      problems: [
        { code: 'duplicate_node', message: 'a exists', node: 'a' },
        { code: 'cycle', message: 'a → b → a' },
      ],
    });
  });

  it('an error for a parse failure echoes the request id when readable', () => {
    const parsed = parseClientMessage({ type: 'request', id: 9, payload: { type: 'demand' } });
    if (parsed.ok) throw new Error('unreachable');
    const frame = errorResponse(parsed.error.id, parsed.error);
    expect(frame.id).toBe(9);
    expect(frame.payload).toMatchObject({ type: 'error', code: 'bad_request' });
  });

  it('the samples cover every event type', () => {
    expect(Object.keys(EVENTS).sort()).toEqual([...CONTROL_EVENT_TYPES].sort());
    for (const name of [
      'node_run_started',
      'node_run_completed',
      'node_run_failed',
      'node_run_cancelled',
    ]) {
      expect(CONTROL_EVENT_TYPES).toContain(name);
    }
  });

  for (const type of CONTROL_EVENT_TYPES) {
    it(`event ${type} round-trips through parseServerMessage`, () => {
      const frame = event(EVENTS[type]);
      const parsed = parseServerMessage(JSON.stringify(frame));
      expect(parsed).toEqual({ ok: true, value: frame });
    });
  }

  it('responses round-trip through parseServerMessage', () => {
    const frames = [
      okResponse(1),
      okResponse('x', { sessions: [{ id: 's1', name: 'Demo' }] }),
      errorResponse(2, { code: 'node_failed', message: 'b failed', node: 'b' }),
      errorResponse(undefined, { code: 'bad_message', message: 'frame is not valid JSON' }),
    ];
    for (const frame of frames) {
      expect(parseServerMessage(JSON.stringify(frame))).toEqual({ ok: true, value: frame });
    }
  });

  it('parseServerMessage rejects bad server frames with the same codes', () => {
    expectError(parseServerMessage('nope'), 'bad_message');
    expectError(parseServerMessage({ type: 'request', payload: {} }), 'bad_request', 'type:');
    expectError(
      parseServerMessage({ type: 'event', payload: { type: 'party' } }),
      'bad_request',
      'payload.type: unknown event',
    );
    expectError(
      parseServerMessage({ type: 'response', payload: { type: 'maybe' } }),
      'bad_request',
      'payload.type: unknown response',
    );
    expectError(
      parseServerMessage({
        type: 'response',
        id: 1,
        payload: { type: 'error', code: 'whoops', message: 'm' },
      }),
      'bad_request',
      'payload.code',
    );
    expectError(
      parseServerMessage(
        event({ ...EVENTS.node_state, state: { status: 'failed' } } as unknown as ControlEvent),
      ),
      'bad_request',
      'payload.state',
    );
    expectError(
      parseServerMessage({
        type: 'event',
        payload: { ...EVENTS.node_view_data, stamp: { vector: { me: 1 }, cause: 'edit' } },
      }),
      'bad_request',
      'payload.stamp.vector',
    );
    expectError(
      parseServerMessage({
        type: 'event',
        payload: { ...EVENTS.node_view_data, stamp: { vector: {}, cause: 'tuesday' } },
      }),
      'bad_request',
      'payload.stamp.cause',
    );
    expectError(
      parseServerMessage({
        type: 'event',
        payload: { ...EVENTS.node_stats, stats: { packets: 'many' } },
      }),
      'bad_request',
      'payload.stats.packets',
    );
    expectError(parseServerMessage('x'.repeat(MAX_CONTROL_FRAME_BYTES + 1)), 'frame_too_large');
  });

  it('typed results parse per request type', () => {
    const good: { [T in ControlRequestType]: ControlResult<T> } = {
      add_node: undefined,
      remove_node: undefined,
      connect: {
        from: { node: 'a', pin: 'out' },
        to: { node: 'mix', pin: 'in_2' },
        mode: 'reliable',
      },
      disconnect: undefined,
      tune: undefined,
      validate_batch: { problems: [{ code: 'cycle', message: 'a → a', node: 'a' }] },
      apply_batch: undefined,
      demand: { run: 'r1' },
      cancel: undefined,
      answer: undefined,
      subscribe: { states: { a: { status: 'running' } } },
      unsubscribe: undefined,
      list_sessions: { sessions: [{ id: 's1', name: 'Demo' }] },
      create_session: { id: 's2', name: 'New' },
      delete_session: undefined,
      get_pipeline: { format: 'yaml', yaml: 'nodes: {}\n' },
    };
    for (const type of CONTROL_REQUEST_TYPES) {
      expect(parseControlResult(type, good[type]), type).toEqual({ ok: true, value: good[type] });
    }
    expect(parseControlResult('subscribe', undefined).ok).toBe(true);
    expect(
      parseControlResult('get_pipeline', {
        format: 'json',
        pipeline: { nodes: {}, connections: {} },
      }),
    ).toEqual({
      ok: true,
      value: { format: 'json', pipeline: { mode: 'dynamic', nodes: {}, connections: {} } },
    });
    const bad = parseControlResult('demand', { run: 7 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message.startsWith('result.run')).toBe(true);
    expect(
      parseControlResult('connect', { from: { node: 'a' }, to: { node: 'b', pin: 'in' } }).ok,
    ).toBe(false);
  });
});

describe('fuzz: parseClientMessage never throws', () => {
  function randomString(r: () => number): string {
    const alphabet = [
      'a',
      'Z',
      '_',
      '-',
      '.',
      ' ',
      '"',
      '\\',
      '{',
      '}',
      '[',
      ']',
      ':',
      ',',
      '0',
      'é',
      '😀',
      '\u0000',
      '\ud800',
      'request',
      'type',
      'payload',
      'session',
      'id',
    ];
    let s = '';
    const n = Math.floor(r() * 12);
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
    return s;
  }

  function randomJson(r: () => number, depth: number): unknown {
    const pick = Math.floor(r() * (depth > 4 ? 5 : 8));
    switch (pick) {
      case 0:
        return null;
      case 1:
        return r() < 0.5;
      case 2:
        return [0, -1, 1.5, 1e308, -0, 2 ** 53, Math.floor(r() * 100)][Math.floor(r() * 7)];
      case 3:
      case 4:
        return r() < 0.3
          ? (CONTROL_REQUEST_TYPES[Math.floor(r() * CONTROL_REQUEST_TYPES.length)] ?? 'x')
          : randomString(r);
      case 5:
        return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
      default: {
        const keys = [
          'type',
          'id',
          'payload',
          'session',
          'ops',
          'op',
          'node',
          'from',
          'to',
          'pin',
          'params',
          'stamp',
          'kind',
          '__proto__',
        ];
        const o: Record<string, unknown> = {};
        const n = Math.floor(r() * 5);
        for (let i = 0; i < n; i++) {
          const key = r() < 0.8 ? (keys[Math.floor(r() * keys.length)] ?? 'k') : randomString(r);
          o[key] = randomJson(r, depth + 1);
        }
        if (depth === 0 && r() < 0.7) o.type = 'request';
        return o;
      }
    }
  }

  /** Replace one random leaf of a valid request with a random value. */
  function mutate(r: () => number, value: unknown, depth = 0): unknown {
    if (typeof value !== 'object' || value === null || r() < 0.2 * depth) return randomJson(r, 3);
    const copy: Record<string, unknown> = Array.isArray(value)
      ? ([...value] as unknown as Record<string, unknown>)
      : { ...value };
    const keys = Object.keys(copy);
    const key = keys[Math.floor(r() * keys.length)];
    if (key === undefined) return copy;
    if (r() < 0.15) delete copy[key];
    else copy[key] = mutate(r, copy[key], depth + 1);
    return copy;
  }

  it('random JSON values, texts and mutated requests give a result with a known code', () => {
    const seed = 20240607;
    const r = rng(seed);
    const samples = Object.values(REQUESTS);
    let oks = 0;
    for (let i = 0; i < 5000; i++) {
      let raw: unknown;
      const mode = i % 4;
      if (mode === 0) raw = randomJson(r, 0);
      else if (mode === 1) raw = JSON.stringify(randomJson(r, 0)) ?? 'undefined';
      else if (mode === 2) {
        const text = JSON.stringify({
          type: 'request',
          id: i,
          payload: samples[i % samples.length],
        });
        const cut = Math.floor(r() * text.length);
        raw =
          r() < 0.5 ? text.slice(0, cut) : text.slice(0, cut) + randomString(r) + text.slice(cut);
      } else
        raw = JSON.stringify({
          type: 'request',
          id: i,
          payload: mutate(r, samples[i % samples.length]),
        });
      let result: ReturnType<typeof parseClientMessage>;
      try {
        result = parseClientMessage(raw);
      } catch (e) {
        throw new Error(
          `seed ${seed}, iteration ${i}: threw on ${String(JSON.stringify(raw)).slice(0, 300)}`,
          { cause: e },
        );
      }
      if (result.ok) {
        oks++;
        // Whatever was accepted serialises and re-parses to itself.
        expect(parseClientMessage(JSON.stringify(result.value))).toEqual(result);
      } else {
        expect(CODES.has(result.error.code), `seed ${seed}, iteration ${i}`).toBe(true);
        expect(typeof result.error.message).toBe('string');
      }
    }
    // Mutations keep some requests valid, so the accepting path is fuzzed too.
    expect(oks).toBeGreaterThan(50);
  });

  it('deeply nested JSON → bad_request, so nothing downstream overflows re-serialising it', () => {
    const depth = 100_000;
    const deep = '['.repeat(depth) + ']'.repeat(depth);
    expectError(parseClientMessage(deep), 'bad_request', 'message: nested deeper than 64');
    const inParams = (inner: string) =>
      `{"type":"request","id":5,"payload":{"type":"tune","session":"s","id":"x","params":{"a":${inner}}}}`;
    const e = expectError(
      parseClientMessage(inParams(deep)),
      'bad_request',
      'message: nested deeper',
    );
    expect(e.id).toBe(5);
    // envelope, payload, params = 3 levels; 61 more arrays reach the limit exactly.
    const atLimit = parseClientMessage(inParams('['.repeat(61) + ']'.repeat(61)));
    expect(atLimit.ok).toBe(true);
    expect(() => JSON.stringify(atLimit)).not.toThrow();
    expect(MAX_CONTROL_NESTING_DEPTH).toBe(64);
    expectError(
      parseClientMessage(inParams('['.repeat(62) + ']'.repeat(62))),
      'bad_request',
      'message: nested deeper',
    );
  });

  it('a cyclic already-parsed value → bad_request, no hang', () => {
    const params: Record<string, unknown> = {};
    params.self = params;
    const msg = { type: 'request', payload: { type: 'tune', session: 's', id: 'x', params } };
    expectError(parseClientMessage(msg), 'bad_request', 'message: nested deeper');
  });
});
