import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmGenerateRequest, LlmGeneration, LoadedLlmModel } from '@patchbay/engine';
import { encodeGguf } from './fixtures/gguf-writer';
import { ensureModel, plantedChatReply, plantedContinuation } from './fixtures/planted-model';
import { NodeLlamaBackend } from './node-llama-backend';
import { createStop } from './testing/stop-controller';

const SETTINGS = { contextSize: 512, threads: 1, sequences: 2 };

let modelPath: string;
let scratch: string;
const backend = new NodeLlamaBackend();
let model: LoadedLlmModel;
const progress: number[] = [];

beforeAll(async () => {
  modelPath = await ensureModel('tiny');
  scratch = await mkdtemp(join(tmpdir(), 'patchbay-llm-'));
  const loaded = await backend.load({
    path: modelPath,
    settings: SETTINGS,
    onProgress: (f) => progress.push(f),
  });
  if (!loaded.ok) throw new Error(loaded.error.message);
  model = loaded.value;
});

afterAll(async () => {
  await model?.dispose();
  await backend.dispose();
  await rm(scratch, { recursive: true, force: true });
});

function request(prompt: string, extra: Partial<LlmGenerateRequest> = {}): LlmGenerateRequest {
  return {
    prompt,
    maxTokens: 64,
    temperature: 0,
    onChunk: () => {},
    signal: createStop().signal,
    ...extra,
  };
}

async function generate(
  m: LoadedLlmModel,
  prompt: string,
  extra: Partial<LlmGenerateRequest> = {},
): Promise<LlmGeneration> {
  const r = await m.generate(request(prompt, extra));
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

describe('NodeLlamaBackend on the generated tiny model', () => {
  it('[X4] loading reports progress in [0, 1], monotonic, ending at 1', () => {
    expect(progress.length).toBeGreaterThan(1);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!).toBeGreaterThan(progress[i - 1]!);
    }
    expect(progress[0]!).toBeGreaterThanOrEqual(0);
    expect(progress.at(-1)).toBe(1);
  });

  it('[X3] greedy generation gives the exact continuation of the planted chain', async () => {
    const expected = plantedContinuation('once upon a');
    expect(expected.stopReason).toBe('eos');
    const g = await generate(model, 'once upon a');
    expect(g).toEqual(expected);
    const short = await generate(model, 'beside the', { maxTokens: 4 });
    expect(short).toEqual(plantedContinuation('beside the', 4));
    expect(short.stopReason).toBe('max_tokens');
  });

  it('[X3] chunks arrive in order and concatenate to the final text', async () => {
    const chunks: string[] = [];
    const g = await generate(model, 'an old fox', { onChunk: (t) => chunks.push(t) });
    expect(chunks.length).toBe(g.tokens);
    expect(chunks.join('')).toBe(g.text);
    expect(chunks.join('')).toBe(plantedContinuation('an old fox').text);
  });

  it('[X5] cancel mid-generation stops within one token and returns the partial text', async () => {
    const { signal, stop } = createStop();
    const chunks: string[] = [];
    let afterStop = 0;
    const g = await generate(model, 'once upon a', {
      signal,
      onChunk: (t) => {
        if (signal.stopped) afterStop++;
        chunks.push(t);
        if (chunks.length === 3) stop();
      },
    });
    expect(g.stopReason).toBe('cancelled');
    expect(afterStop).toBeLessThanOrEqual(1);
    expect(g.text).toBe(chunks.join(''));
    expect(plantedContinuation('once upon a').text.startsWith(g.text)).toBe(true);
    expect(g.text).toBe(plantedContinuation('once upon a', chunks.length).text);
  });

  it('[X5] a request whose signal already fired returns cancelled with no text', async () => {
    const { signal, stop } = createStop();
    stop();
    const g = await generate(model, 'once upon a', { signal });
    expect(g).toEqual({ text: '', tokens: 0, stopReason: 'cancelled' });
  });

  it('[X4] two generations run at once on two sequences; a third waits for a free one', async () => {
    const log: string[] = [];
    const run = (name: string, prompt: string) => {
      let first = true;
      return generate(model, prompt, {
        onChunk: () => {
          if (first) log.push(`${name}:first`);
          first = false;
        },
      }).then((g) => {
        log.push(`${name}:done`);
        return g;
      });
    };
    const [a, b, c] = await Promise.all([
      run('a', 'once upon a'),
      run('b', 'in his small'),
      run('c', 'where green'),
    ]);
    expect(a).toEqual(plantedContinuation('once upon a'));
    expect(b).toEqual(plantedContinuation('in his small'));
    expect(c).toEqual(plantedContinuation('where green'));
    // a and b both started before either finished (they shared the context) ...
    const firstDone = Math.min(log.indexOf('a:done'), log.indexOf('b:done'));
    expect(log.indexOf('a:first')).toBeLessThan(firstDone);
    expect(log.indexOf('b:first')).toBeLessThan(firstDone);
    // ... and c produced nothing until one of them gave its sequence back.
    expect(log.indexOf('c:first')).toBeGreaterThan(firstDone);
  });

  it('[X5] a queued request cancelled before it gets a sequence returns cancelled', async () => {
    const busy = [generate(model, 'once upon a'), generate(model, 'there lived')];
    const { signal, stop } = createStop();
    const chunks: string[] = [];
    const queued = generate(model, 'the river', { signal, onChunk: (t) => chunks.push(t) });
    stop();
    expect(await queued).toEqual({ text: '', tokens: 0, stopReason: 'cancelled' });
    expect(chunks).toEqual([]);
    const [a, b] = await Promise.all(busy);
    expect(a).toEqual(plantedContinuation('once upon a'));
    expect(b).toEqual(plantedContinuation('there lived'));
  });

  it('[X4] a reused model gives the same output for the same prompt', async () => {
    const first = await generate(model, 'kept seven silver', { maxTokens: 6 });
    await generate(model, 'once upon a time there');
    const again = await generate(model, 'kept seven silver', { maxTokens: 6 });
    expect(again).toEqual(first);
    expect(again).toEqual(plantedContinuation('kept seven silver', 6));
  });

  it('[X3] a system prompt formats a chat turn; the reply is the assistant turn', async () => {
    const g = await generate(model, 'tell me a story', {
      systemPrompt: 'You are brief.',
      maxTokens: 64,
    });
    expect(g).toEqual(plantedChatReply());
  });

  it('[X3] a grammar from an enum JSON Schema yields one of the enum values', async () => {
    const values = ['red', 'green', 'blue'];
    const g = await generate(model, 'once upon a', {
      jsonSchema: { enum: values },
      maxTokens: 16,
    });
    expect(values).toContain(JSON.parse(g.text));
    const object = await generate(model, 'once upon a', {
      jsonSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
      maxTokens: 32,
    });
    const parsed = JSON.parse(object.text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['ok']);
    expect(typeof parsed.ok).toBe('boolean');
  });

  it('[X3] sampling honours temperature and seed: same seed, same text; seeds differ', async () => {
    // Under a grammar the planted weights leave the choices nearly equally likely, so
    // sampling (not the chain) decides which value comes out.
    const values = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
    const sample = async (seed: number) =>
      (
        await generate(model, 'pick one', {
          jsonSchema: { enum: values },
          temperature: 1.5,
          seed,
          maxTokens: 16,
        })
      ).text;
    const seen = new Set<string>();
    for (let seed = 1; seed <= 6; seed++) {
      const text = await sample(seed);
      expect(values).toContain(JSON.parse(text));
      expect(await sample(seed)).toBe(text);
      seen.add(text);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('[X3] a JSON Schema that cannot become a grammar is bad_params', async () => {
    const r = await model.generate(request('once upon a', { jsonSchema: 'not a schema' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('bad_params');
  });

  it('[X3] maxTokens below 1 is bad_params', async () => {
    const r = await model.generate(request('once upon a', { maxTokens: 0 }));
    expect(r.ok ? 'ok' : r.error.code).toBe('bad_params');
  });

  it('[X4] dispose then load again gives the same output; the disposed model refuses work', async () => {
    const loaded = await backend.load({ path: modelPath, settings: { ...SETTINGS, sequences: 1 } });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const before = await generate(loaded.value, 'his small', { maxTokens: 5 });
    await loaded.value.dispose();
    await loaded.value.dispose(); // idempotent
    const refused = await loaded.value.generate(request('his small'));
    expect(refused.ok ? 'ok' : refused.error.code).toBe('inference_failed');
    const reloaded = await backend.load({
      path: modelPath,
      settings: { ...SETTINGS, sequences: 1 },
    });
    if (!reloaded.ok) throw new Error(reloaded.error.message);
    const after = await generate(reloaded.value, 'his small', { maxTokens: 5 });
    await reloaded.value.dispose();
    expect(after).toEqual(before);
    expect(after).toEqual(plantedContinuation('his small', 5));
  });

  it('[X4] dispose stops a running generation (cancelled) and fails queued ones', async () => {
    const loaded = await backend.load({ path: modelPath, settings: { ...SETTINGS, sequences: 1 } });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const m = loaded.value;
    let disposing: Promise<void> | undefined;
    const running = m.generate(
      request('once upon a', { onChunk: () => void (disposing ??= m.dispose()) }),
    );
    const queued = m.generate(request('there lived'));
    const [r, q] = await Promise.all([running, queued]);
    await disposing;
    expect(r.ok && r.value.stopReason).toBe('cancelled');
    expect(q.ok ? 'ok' : q.error.code).toBe('inference_failed');
  });

  it('[X4] a load whose signal fires (before or during loading) is cancelled', async () => {
    const before = createStop();
    before.stop();
    const early = await backend.load({
      path: modelPath,
      settings: SETTINGS,
      signal: before.signal,
    });
    expect(early.ok ? 'ok' : early.error.code).toBe('cancelled');
    const during = createStop();
    const r = await backend.load({
      path: modelPath,
      settings: SETTINGS,
      signal: during.signal,
      onProgress: () => during.stop(),
    });
    expect(r.ok ? 'ok' : r.error.code).toBe('cancelled');
  });

  it('[X4] a missing file is model_not_found', async () => {
    const r = await backend.load({ path: join(scratch, 'nope.gguf'), settings: SETTINGS });
    expect(r.ok ? 'ok' : r.error.code).toBe('model_not_found');
    if (!r.ok) expect(r.error.message).toContain('nope.gguf');
  });

  it('[X4] a file that is not GGUF is model_invalid', async () => {
    const path = join(scratch, 'notes.gguf');
    await writeFile(path, 'these are not model weights\n'.repeat(100));
    const r = await backend.load({ path, settings: SETTINGS });
    expect(r.ok ? 'ok' : r.error.code).toBe('model_invalid');
  });

  it('[X4] a GGUF file cut off inside its header is model_invalid', async () => {
    const path = join(scratch, 'cut.gguf');
    const bytes = await readFile(modelPath);
    await writeFile(path, bytes.subarray(0, 200));
    const r = await backend.load({ path, settings: SETTINGS });
    expect(r.ok ? 'ok' : r.error.code).toBe('model_invalid');
  });

  it('[X4] a directory is model_invalid; bad settings are bad_params', async () => {
    const dir = await backend.load({ path: scratch, settings: SETTINGS });
    expect(dir.ok ? 'ok' : dir.error.code).toBe('model_invalid');
    const bad = await backend.load({ path: modelPath, settings: { ...SETTINGS, sequences: 0 } });
    expect(bad.ok ? 'ok' : bad.error.code).toBe('bad_params');
  });

  it('[X4] a GGUF file cut off inside its tensor data is model_invalid', async () => {
    const path = join(scratch, 'short.gguf');
    const bytes = await readFile(modelPath);
    const file = await open(path, 'w');
    await file.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    await file.close();
    const r = await backend.load({ path, settings: SETTINGS });
    expect(r.ok ? 'ok' : r.error.code).toBe('model_invalid');
    if (!r.ok) expect(r.error.message).toContain('truncated');
  });

  it('[X4] a GGUF file llama.cpp cannot build a model from is model_load_failed', async () => {
    const path = join(scratch, 'no-tensors.gguf');
    const parts = encodeGguf([['general.architecture', { type: 'string', value: 'llama' }]], []);
    await writeFile(path, Buffer.concat(parts));
    const r = await backend.load({ path, settings: SETTINGS });
    expect(r.ok ? 'ok' : r.error.code).toBe('model_load_failed');
    if (!r.ok) expect(r.error.message).toContain('no-tensors.gguf');
  });
});
