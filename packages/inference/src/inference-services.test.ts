import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirFileStore } from './data-dir-file-store';
import { FetchHttpClient } from './fetch-http-client';
import { copyModelInto } from './testing/copy-model';
import { createInferenceServices } from './inference-services';
import { NodeLlamaBackend } from './node-llama-backend';
import type { FileStore, LlmBackend } from '@patchbay/engine';
import { plantedContinuation } from './fixtures/planted-model';
import { createStop } from './testing/stop-controller';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'patchbay-services-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('createInferenceServices', () => {
  it('keys the Node implementations as the engine looks them up', () => {
    const services = createInferenceServices({ dataDir });
    expect(Object.keys(services).sort()).toEqual(['fileStore', 'httpClient', 'llmBackend']);
    expect(services.llmBackend).toBeInstanceOf(NodeLlamaBackend);
    expect(services.fileStore).toBeInstanceOf(DataDirFileStore);
    expect(services.httpClient).toBeInstanceOf(FetchHttpClient);
    const fake = { load: () => Promise.reject(new Error('unused')) } as LlmBackend;
    expect(createInferenceServices({ dataDir, llmBackend: fake }).llmBackend).toBe(fake);
  });

  it('[X4] a model path confined by the file store loads and generates', async () => {
    const services = createInferenceServices({ dataDir });
    const store: FileStore = services.fileStore;
    await copyModelInto(store, 'models/tiny.gguf');
    const path = await store.resolve('models/tiny.gguf');
    if (!path.ok) throw new Error(path.error.message);
    const loaded = await services.llmBackend.load({
      path: path.value,
      settings: { contextSize: 256, threads: 1, sequences: 1 },
    });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const r = await loaded.value.generate({
      prompt: 'the river',
      maxTokens: 3,
      temperature: 0,
      onChunk: () => {},
      signal: createStop().signal,
    });
    await loaded.value.dispose();
    expect(r.ok && r.value).toEqual(plantedContinuation('the river', 3));
  });
});
