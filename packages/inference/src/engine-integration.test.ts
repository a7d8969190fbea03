/**
 * The engine's task nodes on the real services: `llm::model` + `llm::inference` on
 * node-llama-cpp with the generated model in a data directory, `llm::openai` over fetch
 * against the OpenAI-compatible test server, `read-file` / `write-file` in the data directory.
 */
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createDefaultRegistry,
  createTimerClock,
  gatewayFor,
  runOneshot,
  LLM_BACKEND_SERVICE,
} from '@patchbay/engine';
import type { RunEvent } from '@patchbay/engine';
import { importPipelineYaml } from '@patchbay/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel, plantedChatReply, plantedContinuation } from './fixtures/planted-model';
import { createInferenceServices } from './inference-services';
import type { InferenceServices } from './inference-services';
import { copyModelInto } from './testing/copy-model';
import { startOpenAiTestServer } from './testing/openai-test-server';
import type { OpenAiTestServer } from './testing/openai-test-server';

const clock = createTimerClock({
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setImmediate: (callback) => setImmediate(callback),
});

let dataDir: string;
let services: InferenceServices;
let server: OpenAiTestServer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'patchbay-integration-'));
  services = createInferenceServices({ dataDir });
  await copyModelInto(services.fileStore, 'models/tiny.gguf');
  server = await startOpenAiTestServer();
});

afterAll(async () => {
  await gatewayFor(services[LLM_BACKEND_SERVICE]).unload();
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function run(yaml: string) {
  const registry = createDefaultRegistry();
  const pipeline = importPipelineYaml(yaml, registry);
  if (!pipeline.ok) throw new Error(JSON.stringify(pipeline.error));
  const events: RunEvent[] = [];
  const result = await runOneshot(pipeline.value, {
    registry,
    clock,
    services,
    onRunEvent: (e) => events.push(e),
  });
  const chunks = events.flatMap((e) => (e.type === 'node_stream' ? [e.chunk] : []));
  return { result, chunks };
}

describe('engine task nodes on the real inference services', () => {
  it('[X1][X3] llm::inference runs in the engine itself (stock registry, no host executor, only injected services): the planted continuation on node-llama-cpp, streamed', async () => {
    const { result, chunks } = await run(`mode: oneshot
nodes:
  model: { kind: llm::model, params: { path: models/tiny.gguf, context_size: 256 } }
  question: { kind: text::input, params: { text: 'once upon a' } }
  gen:
    kind: llm::inference
    params: { max_tokens: 8 }
    needs: [{ node: model, to: model }, { node: question, to: input }]
  out: { kind: text::output, needs: gen }
`);
    expect(result.ok ? result.outputs : result.failed).toEqual({
      out: plantedContinuation('once upon a', 8).text,
    });
    expect(chunks.join('')).toBe(plantedContinuation('once upon a', 8).text);
  });

  it('[X3] model paths that leave the data directory are refused (by name or by symlink)', async () => {
    const pipeline = (path: string) => `mode: oneshot
nodes:
  model: { kind: llm::model, params: { path: ${path} } }
  question: { kind: text::input, params: { text: 'x' } }
  gen:
    kind: llm::inference
    needs: [{ node: model, to: model }, { node: question, to: input }]
  out: { kind: text::output, needs: gen }
`;
    const byName = await run(pipeline('../outside.gguf'));
    expect(byName.result.ok).toBe(false);
    if (!byName.result.ok) expect(byName.result.problems[0]?.code).toBe('path_not_allowed');
    // A name the engine accepts, but the file store finds a link leading out.
    await symlink(await ensureModel('tiny'), join(dataDir, 'models', 'linked.gguf'));
    const byLink = await run(pipeline('models/linked.gguf'));
    expect(byLink.result.ok).toBe(false);
    if (!byLink.result.ok) {
      expect(byLink.result.failed).toEqual([
        { node: 'model', reason: expect.stringContaining('path_not_allowed') },
      ]);
    }
  });

  it('[X3] llm::openai streams from an OpenAI-compatible server over fetch', async () => {
    const { result, chunks } = await run(`mode: oneshot
nodes:
  question: { kind: text::input, params: { text: 'tell me a story' } }
  gen:
    kind: llm::openai
    params: { base_url: '${server.baseUrl}', model: any, max_tokens: 5 }
    needs: { node: question, to: input }
  out: { kind: text::output, needs: gen }
`);
    expect(result.ok ? result.outputs : result.failed).toEqual({ out: plantedChatReply(5).text });
    expect(chunks.join('')).toBe(plantedChatReply(5).text);
  });

  it('[X3] llm::openai fails with upstream_failed when the server errors', async () => {
    server.setFault('error_500');
    try {
      const { result } = await run(`mode: oneshot
nodes:
  question: { kind: text::input, params: { text: 'x' } }
  gen:
    kind: llm::openai
    params: { base_url: '${server.baseUrl}' }
    needs: { node: question, to: input }
  out: { kind: text::output, needs: gen }
`);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.failed[0]?.reason).toContain('upstream_failed');
    } finally {
      server.setFault('none');
    }
  });

  it('[X3] write-file lands in the data directory', async () => {
    const { result } = await run(`mode: oneshot
nodes:
  text: { kind: text::input, params: { text: 'saved words' } }
  save: { kind: file::write, params: { path: out/saved.txt }, needs: { node: text, to: in } }
`);
    expect(result.ok).toBe(true);
    expect(await readFile(join(dataDir, 'out', 'saved.txt'), 'utf8')).toBe('saved words');
  });
});
