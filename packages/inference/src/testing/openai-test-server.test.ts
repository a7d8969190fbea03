import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpResponse } from '@patchbay/engine';
import { FetchHttpClient } from '../fetch-http-client';
import { plantedChatReply, plantedContinuation } from '../fixtures/planted-model';
import { startOpenAiTestServer } from './openai-test-server';
import type { OpenAiTestServer } from './openai-test-server';
import { createStop } from './stop-controller';

const client = new FetchHttpClient();
let server: OpenAiTestServer;

beforeAll(async () => {
  server = await startOpenAiTestServer();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => server.setFault('none'));

async function post(path: string, body: unknown): Promise<HttpResponse> {
  const r = await client.request({
    method: 'POST',
    url: `${server.baseUrl}${path}`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** The `data:` payloads of an SSE body, in order. */
function sseData(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice('data: '.length));
}

/** Concatenated `choices[0].delta.content` (chat) or `choices[0].text` (completions). */
function streamedText(events: string[]): string {
  return events
    .filter((e) => e !== '[DONE]')
    .map((e) => {
      const choice = (JSON.parse(e) as { choices: Array<Record<string, unknown>> }).choices[0]!;
      const delta = choice.delta as { content?: string } | undefined;
      return delta?.content ?? (choice.text as string | undefined) ?? '';
    })
    .join('');
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('FetchHttpClient', () => {
  it('[X3] a refused connection is upstream_failed naming the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}/v1/chat/completions`;
    const r = await client.request({ method: 'POST', url, body: '{}' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('upstream_failed');
      expect(r.error.message).toContain(url);
      expect(r.error.message).toContain('ECONNREFUSED');
    }
  });

  it('[X3] a host that does not resolve is upstream_failed', async () => {
    const r = await client.request({ method: 'GET', url: 'http://no-such-host.invalid/v1/models' });
    expect(r.ok ? 'ok' : r.error.code).toBe('upstream_failed');
    if (!r.ok) expect(r.error.message).toContain('no-such-host.invalid');
  });

  it('a malformed or non-HTTP URL is bad_request; a stopped signal is cancelled', async () => {
    const bad = await client.request({ method: 'GET', url: 'not a url' });
    expect(bad.ok ? 'ok' : bad.error.code).toBe('bad_request');
    const file = await client.request({ method: 'GET', url: 'file:///etc/passwd' });
    expect(file.ok ? 'ok' : file.error.code).toBe('bad_request');
    const { signal, stop } = createStop();
    stop();
    const r = await client.request({ method: 'GET', url: `${server.baseUrl}/models`, signal });
    expect(r.ok ? 'ok' : r.error.code).toBe('cancelled');
  });

  it('returns status, lower-cased headers and the body', async () => {
    const r = await client.request({ method: 'GET', url: `${server.baseUrl}/models` });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.status).toBe(200);
    expect(r.value.headers['content-type']).toContain('application/json');
    const models = JSON.parse(await readAll(r.value.body)) as { data: Array<{ id: string }> };
    expect(models.data[0]?.id).toBe('patchbay-planted-tiny');
  });
});

describe('OpenAI-compatible test server', () => {
  it('[X3] chat completions stream SSE deltas the client reads, ending with [DONE]', async () => {
    const res = await post('/chat/completions', {
      model: 'any',
      stream: true,
      messages: [{ role: 'user', content: 'tell me a story' }],
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const events = sseData(await readAll(res.body));
    expect(events.at(-1)).toBe('[DONE]');
    expect(streamedText(events)).toBe(plantedChatReply().text);
    const last = JSON.parse(events.at(-2)!) as { choices: Array<{ finish_reason: string }> };
    expect(last.choices[0]?.finish_reason).toBe('stop');
  });

  it('[X3] chat completions without stream answer one JSON body', async () => {
    const res = await post('/chat/completions', {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'go' },
      ],
      max_tokens: 3,
    });
    const json = JSON.parse(await readAll(res.body)) as {
      choices: Array<{ message: { content: string }; finish_reason: string }>;
      usage: { completion_tokens: number };
    };
    expect(json.choices[0]?.message.content).toBe(plantedChatReply(3).text);
    expect(json.choices[0]?.finish_reason).toBe('length');
    expect(json.usage.completion_tokens).toBe(3);
  });

  it('[X3] text completions continue the prompt (stream and JSON)', async () => {
    const streamed = await post('/completions', { prompt: 'once upon a', stream: true });
    expect(streamedText(sseData(await readAll(streamed.body)))).toBe(
      plantedContinuation('once upon a').text,
    );
    const plain = await post('/completions', { prompt: 'the river', max_tokens: 2 });
    const json = JSON.parse(await readAll(plain.body)) as { choices: Array<{ text: string }> };
    expect(json.choices[0]?.text).toBe(plantedContinuation('the river', 2).text);
  });

  it('a bad request body is 400 with an OpenAI-style error', async () => {
    const res = await post('/completions', { prompt: 42 });
    expect(res.status).toBe(400);
    const json = JSON.parse(await readAll(res.body)) as { error: { message: string } };
    expect(json.error.message).toContain('prompt');
  });

  it('[X3] fault error_500 answers 500 with a JSON error', async () => {
    server.setFault('error_500');
    const res = await post('/chat/completions', {
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(res.status).toBe(500);
    const json = JSON.parse(await readAll(res.body)) as { error: { message: string } };
    expect(json.error.message.length).toBeGreaterThan(0);
  });

  it('[X3] fault malformed_sse sends a data line that is not JSON among good ones', async () => {
    server.setFault('malformed_sse');
    const res = await post('/chat/completions', {
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    const events = sseData(await readAll(res.body));
    expect(events.at(-1)).toBe('[DONE]');
    const broken = events.filter((e) => {
      try {
        JSON.parse(e);
        return false;
      } catch {
        return e !== '[DONE]';
      }
    });
    expect(broken).toHaveLength(1);
  });

  it('[X3] fault close_mid_stream cuts the connection: the body iteration throws upstream_failed', async () => {
    server.setFault('close_mid_stream');
    const res = await post('/completions', { prompt: 'once upon a', stream: true });
    const decoder = new TextDecoder();
    let text = '';
    let thrown: unknown;
    try {
      for await (const chunk of res.body) text += decoder.decode(chunk, { stream: true });
    } catch (e) {
      thrown = e;
    }
    expect((thrown as { code?: string } | undefined)?.code).toBe('upstream_failed');
    const events = sseData(text);
    expect(events).not.toContain('[DONE]');
    // What arrived is the start of the continuation, two words at most.
    const words = streamedText(events)
      .split(' ')
      .filter((w) => w !== '');
    expect(words.length).toBeLessThanOrEqual(2);
    expect(words.join(' ')).toBe(plantedContinuation('once upon a', words.length).text);
  });

  it('[X5] a stop while streaming ends the body quietly and the server stops generating', async () => {
    const { signal, stop } = createStop();
    const r = await client.request({
      method: 'POST',
      url: `${server.baseUrl}/completions`,
      body: JSON.stringify({ prompt: 'once upon a', stream: true }),
      signal,
    });
    if (!r.ok) throw new Error(r.error.message);
    let chunks = 0;
    for await (const _ of r.value.body) {
      chunks++;
      stop();
    }
    expect(chunks).toBe(1);
    // The server is still healthy and serves the next request in full.
    const next = await post('/completions', { prompt: 'once upon a', stream: true });
    expect(streamedText(sseData(await readAll(next.body)))).toBe(
      plantedContinuation('once upon a').text,
    );
  });
});
