import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmGenerateRequest, LoadedLlmModel } from '@patchbay/engine';
import { ensureModel, plantedContinuation } from './fixtures/planted-model';
import { NodeLlamaBackend } from './node-llama-backend';
import { createStop } from './testing/stop-controller';

/**
 * Shutting the backend down while work is in flight (host shutdown, X4), on the real
 * node-llama-cpp with the tiny model: every call ends in a value, nothing is left to reject
 * later, and the process keeps running.
 */
const SETTINGS = { contextSize: 512, threads: 1, sequences: 1 };
const PROMPT = 'Tell me a story:';

let modelPath: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  modelPath = await ensureModel('tiny');
  process.on('unhandledRejection', onUnhandled);
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

async function loadTiny(backend: NodeLlamaBackend): Promise<LoadedLlmModel> {
  const loaded = await backend.load({ path: modelPath, settings: SETTINGS });
  if (!loaded.ok) throw new Error(`${loaded.error.code}: ${loaded.error.message}`);
  return loaded.value;
}

/** A generation of the whole planted chain, with a promise for its first chunk. */
function startGeneration(model: LoadedLlmModel, onFirst?: () => void) {
  const stop = createStop();
  const chunks: string[] = [];
  let first!: () => void;
  const firstChunk = new Promise<void>((r) => (first = r));
  const request: LlmGenerateRequest = {
    prompt: PROMPT,
    maxTokens: 64,
    temperature: 0,
    signal: stop.signal,
    onChunk: (text) => {
      chunks.push(text);
      if (chunks.length === 1) {
        onFirst?.();
        first();
      }
    },
  };
  return { stop, chunks, firstChunk, result: model.generate(request) };
}

/** Lets anything node-llama-cpp left pending settle, so a stray rejection would be seen. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('NodeLlamaBackend.dispose with work in flight', () => {
  it('[X4] dispose right after a cancel, before generate settles, ends it cleanly', async () => {
    const backend = new NodeLlamaBackend();
    const model = await loadTiny(backend);
    const before = unhandled.length;
    const gen = startGeneration(model, () => gen.stop.stop());
    await gen.firstChunk;
    await backend.dispose();
    const r = await gen.result;
    await settle();
    expect(unhandled.slice(before)).toEqual([]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.stopReason).toBe('cancelled');
    expect(r.value.text).toBe(gen.chunks.join(''));
    expect(plantedContinuation(PROMPT).text.startsWith(r.value.text)).toBe(true);
  });

  it('[X4] dispose called from inside the first chunk, with the stop, ends it cleanly', async () => {
    const backend = new NodeLlamaBackend();
    const model = await loadTiny(backend);
    const before = unhandled.length;
    let disposing: Promise<void> | undefined;
    const gen = startGeneration(model, () => {
      gen.stop.stop();
      disposing = backend.dispose();
    });
    await gen.firstChunk;
    await disposing;
    const r = await gen.result;
    await settle();
    expect(unhandled.slice(before)).toEqual([]);
    expect(r.ok && r.value.stopReason).toBe('cancelled');
  });

  it('[X4] dispose during a generation nobody cancelled stops it with its partial text', async () => {
    const backend = new NodeLlamaBackend();
    const model = await loadTiny(backend);
    const before = unhandled.length;
    const gen = startGeneration(model);
    await gen.firstChunk;
    await backend.dispose();
    const r = await gen.result;
    await settle();
    expect(unhandled.slice(before)).toEqual([]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.stopReason).toBe('cancelled');
    expect(r.value.text).toBe(gen.chunks.join(''));
    expect(r.value.tokens).toBeLessThan(plantedContinuation(PROMPT).tokens);
  });

  it('[X4] dispose is idempotent; load and generate afterwards return err values', async () => {
    const backend = new NodeLlamaBackend();
    const model = await loadTiny(backend);
    await Promise.all([backend.dispose(), backend.dispose()]);
    await expect(backend.dispose()).resolves.toBeUndefined();
    await expect(model.dispose()).resolves.toBeUndefined();

    const generated = await model.generate({
      prompt: PROMPT,
      maxTokens: 8,
      temperature: 0,
      signal: createStop().signal,
      onChunk: () => {},
    });
    expect(generated.ok).toBe(false);
    if (!generated.ok) expect(generated.error.code).toBe('inference_failed');

    const loaded = await backend.load({ path: modelPath, settings: SETTINGS });
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) {
      expect(loaded.error.code).toBe('model_load_failed');
      expect(loaded.error.message).toMatch(/shut down/);
    }
  });

  it('[X4] dispose during a load makes the load an err value and keeps no model', async () => {
    const backend = new NodeLlamaBackend();
    // The runtime is started by a first load, so the second one is mid-way when dispose runs.
    const warm = await loadTiny(backend);
    await warm.dispose();
    const before = unhandled.length;
    const loading = backend.load({ path: modelPath, settings: SETTINGS });
    await backend.dispose();
    const r = await loading;
    await settle();
    expect(unhandled.slice(before)).toEqual([]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('model_load_failed');
  });
});
