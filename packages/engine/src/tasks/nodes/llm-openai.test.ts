import { describe, expect, it } from 'vitest';
import { err, ok, problem } from '@patchbay/protocol';
import { utf8Encode } from '../../nodes/io/oneshot-io';
import { SseParser } from '../sse';
import { HTTP_CLIENT_SERVICE } from '../task-services';
import type { HttpClient, HttpResponse } from '../task-services';
import { Utf8Decoder } from '../utf8';
import { add, link, taskEngine } from '../testing/task-harness';

type Request = Parameters<HttpClient['request']>[0];

/** An HttpClient answering every request with `respond`, recording the requests. */
function fakeHttp(respond: (req: Request) => ReturnType<HttpClient['request']>) {
  const requests: Request[] = [];
  const client: HttpClient = {
    request: (req) => {
      requests.push(req);
      return respond(req);
    },
  };
  return { client, requests };
}

function response(status: number, chunks: string[], contentType = 'text/event-stream') {
  const body: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      for (const c of chunks) yield utf8Encode(c);
    },
  };
  const r: HttpResponse = { status, headers: { 'Content-Type': contentType }, body };
  return Promise.resolve(ok(r));
}

const delta = (content: string) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;

async function runOpenAi(client: HttpClient, params: Record<string, unknown> = {}) {
  const t = taskEngine({ services: { [HTTP_CLIENT_SERVICE]: client } });
  await t.build([
    add('q', 'text::input', { text: 'Say hi' }),
    add('llm', 'llm::openai', {
      base_url: 'http://127.0.0.1:8080/v1/',
      model: 'tiny',
      system_prompt: 'Be brief',
      ...params,
    }),
    link('q', 'llm', 'input'),
  ]);
  const r = await t.demandAndWait('llm');
  const chunks = t.runEvents(r.run).flatMap((e) => (e.type === 'node_stream' ? [e.chunk] : []));
  return { ...r, chunks };
}

describe('X3 llm::openai', () => {
  it('[X3] streams chat completion deltas from an OpenAI-compatible server', async () => {
    const http = fakeHttp(() =>
      response(200, [
        ': keep-alive\n\n',
        delta('Hel'),
        // An event split across reads, CRLF line ends.
        'data: {"choices":[{"delta":{"content":"lo"}}]',
        '}\r\n\r\n',
        delta(' there'),
        'data: [DONE]\n\n',
      ]),
    );
    const { end, chunks } = await runOpenAi(http.client, { api_key: 'k1', seed: 7 });
    expect(end).toMatchObject({ type: 'run_completed', output: 'Hello there' });
    expect(chunks).toEqual(['Hel', 'lo', ' there']);
    const req = http.requests[0]!;
    expect(req.url).toBe('http://127.0.0.1:8080/v1/chat/completions');
    expect(req.headers?.authorization).toBe('Bearer k1');
    expect(JSON.parse(req.body ?? '')).toEqual({
      model: 'tiny',
      messages: [
        { role: 'system', content: 'Be brief' },
        { role: 'user', content: 'Say hi' },
      ],
      temperature: 0,
      max_tokens: 256,
      seed: 7,
      stream: true,
    });
  });

  it('[X3] connection refused, HTTP 500 and malformed SSE are node failures with upstream_failed', async () => {
    const refused = await runOpenAi(
      fakeHttp(() =>
        Promise.resolve(err(problem('upstream_failed', 'connect ECONNREFUSED 127.0.0.1:8080'))),
      ).client,
    );
    expect(refused.end).toMatchObject({ type: 'run_failed', node: 'llm', code: 'upstream_failed' });
    expect(refused.end.type === 'run_failed' ? refused.end.reason : '').toContain('ECONNREFUSED');

    const http500 = await runOpenAi(
      fakeHttp(() => response(500, ['{"error":"model crashed"}'], 'application/json')).client,
    );
    expect(http500.end).toMatchObject({ code: 'upstream_failed' });
    expect(http500.end.type === 'run_failed' ? http500.end.reason : '').toContain(
      'HTTP 500: {"error":"model crashed"}',
    );

    const malformed = await runOpenAi(
      fakeHttp(() => response(200, [delta('ok'), 'data: {not json\n\n'])).client,
    );
    expect(malformed.end).toMatchObject({ code: 'upstream_failed' });
    expect(malformed.end.type === 'run_failed' ? malformed.end.reason : '').toContain(
      'malformed SSE',
    );
    expect(malformed.chunks).toEqual(['ok']);

    const serverError = await runOpenAi(
      fakeHttp(() => response(200, ['data: {"error":{"message":"overloaded"}}\n\n'])).client,
    );
    expect(serverError.end.type === 'run_failed' ? serverError.end.reason : '').toContain(
      'overloaded',
    );
  });

  it('[X3] a server that answers with one JSON completion still works', async () => {
    const { end } = await runOpenAi(
      fakeHttp(() =>
        response(200, ['{"choices":[{"message":{"content":"whole"}}]}'], 'application/json'),
      ).client,
    );
    expect(end).toMatchObject({ output: 'whole' });
  });

  it('[X3] a host without an HTTP client gets a clear failure', async () => {
    const t = taskEngine();
    await t.build([add('llm', 'llm::openai', { prompt: 'x' })]);
    const { end } = await t.demandAndWait('llm');
    expect(end).toMatchObject({ code: 'upstream_failed' });
  });
});

describe('SSE and UTF-8 decoding', () => {
  it('joins multi-line data, ignores comments and other fields, flushes the last event at end', () => {
    const p = new SseParser();
    expect(p.push(utf8Encode('event: x\ndata: a\ndata: b\nid: 1\n\n: c\n'))).toEqual(['a\nb']);
    expect(p.push(utf8Encode('data: tail'))).toEqual([]);
    expect(p.end()).toEqual(['tail']);
  });

  it('keeps a UTF-8 sequence split across chunks whole', () => {
    const bytes = utf8Encode('é€😀');
    const d = new Utf8Decoder();
    let out = '';
    for (const b of bytes) out += d.decode(Uint8Array.of(b));
    out += d.decode(new Uint8Array(0), true);
    expect(out).toBe('é€😀');
    expect(new Utf8Decoder().decode(Uint8Array.of(0xff, 0x41), true)).toBe('\uFFFDA');
    expect(new Utf8Decoder().decode(Uint8Array.of(0xe2, 0x82), true)).toBe('\uFFFD\uFFFD');
  });
});
