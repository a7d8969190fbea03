import { z } from 'zod';
import { err, ok, problem } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import { gatewayFor } from '../llm-gateway';
import type { LlmGateway } from '../llm-gateway';
import { SseParser } from '../sse';
import { defineTaskNode } from '../task-api';
import type { TaskContext } from '../task-api';
import { FILE_STORE_SERVICE, HTTP_CLIENT_SERVICE, LLM_BACKEND_SERVICE } from '../task-services';
import type { FileStore, HttpClient, LlmBackend, LlmModelSettings } from '../task-services';
import { utf8Decode } from '../utf8';
import { checkJsonSchema } from '../schema-check';
import { onNode, service, toText } from './task-values';

/** Default tokens of context per sequence. */
export const DEFAULT_CONTEXT_SIZE = 2048;
/** One thread: on a 2-core machine more threads make llama.cpp slower, not faster. */
export const DEFAULT_LLM_THREADS = 1;
/** At most this much of an error body goes into a failure message. */
const MAX_ERROR_BODY_CHARS = 300;

/** What `llm::model` hands to `llm::inference`: which model, with which settings. */
export const ModelDescriptorSchema = z.object({
  path: z.string().min(1),
  context_size: z.number().int().positive(),
  threads: z.number().int().positive(),
  sequences: z.number().int().positive(),
});
export type ModelDescriptor = z.infer<typeof ModelDescriptorSchema>;

const ModelParams = z.object({
  path: z.string().default(''),
  context_size: z.number().int().min(64).max(1_048_576).default(DEFAULT_CONTEXT_SIZE),
  threads: z.number().int().min(1).max(256).default(DEFAULT_LLM_THREADS),
  sequences: z.number().int().min(1).max(64).default(1),
});

function gatewayOf(ctx: TaskContext<unknown>): Result<LlmGateway> {
  const backend = service<LlmBackend>(
    ctx.services,
    LLM_BACKEND_SERVICE,
    'model_load_failed',
    ctx.nodeId,
    'LLM backend',
  );
  return backend.ok ? ok(gatewayFor(backend.value)) : backend;
}

/** The host-confined path of a model (the file store's sandbox), or the path as given. */
async function confinedPath(ctx: TaskContext<unknown>, path: string): Promise<Result<string>> {
  if (path === '') return err(problem('bad_params', 'no model path is set', ctx.nodeId));
  const store = ctx.services[FILE_STORE_SERVICE] as FileStore | undefined;
  if (!store) return ok(path);
  return onNode(await store.resolve(path), ctx.nodeId);
}

function settingsOf(d: ModelDescriptor): LlmModelSettings {
  return { contextSize: d.context_size, threads: d.threads, sequences: d.sequences };
}

export const llmModelNode = defineTaskNode({
  kind: 'llm::model',
  description:
    'A local GGUF model and its settings (context size, threads, parallel sequences). Loads it (with progress) unless the same model is already loaded.',
  params: ModelParams,
  pathParams: ['path'],
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'json' }] }),
  execute: async (_inputs, ctx) => {
    const gateway = gatewayOf(ctx);
    if (!gateway.ok) return gateway;
    const path = await confinedPath(ctx, ctx.params.path);
    if (!path.ok) return path;
    const descriptor: ModelDescriptor = { ...ctx.params };
    const lease = await gateway.value.acquire({
      path: path.value,
      settings: settingsOf(descriptor),
      onProgress: (f) => ctx.progress(f, 'loading model'),
      signal: ctx.signal,
    });
    if (!lease.ok) return onNode(lease, ctx.nodeId);
    lease.value.release();
    return ok({ out: descriptor });
  },
});

const JsonSchemaParam = z
  .unknown()
  .optional()
  .superRefine((schema, ctx) => {
    if (schema === undefined) return;
    const p = checkJsonSchema(schema);
    if (p) ctx.addIssue({ code: 'custom', message: `invalid schema: ${p}` });
  });

const GenerationParams = {
  /** Used when nothing is connected to `input`; with both, `{{input}}` in it is replaced. */
  prompt: z.string().default(''),
  system_prompt: z.string().optional(),
  temperature: z.number().min(0).max(2).default(0),
  max_tokens: z.number().int().min(1).max(32_768).default(256),
  seed: z.number().int().nonnegative().optional(),
};

function promptOf(
  inputs: Readonly<Record<string, unknown>>,
  template: string,
  node: string,
): Result<string> {
  const hasInput = 'input' in inputs;
  const input = hasInput ? toText(inputs.input) : '';
  if (!hasInput && template === '') {
    return err(problem('bad_params', 'no prompt: set `prompt` or connect `input`', node));
  }
  if (!hasInput) return ok(template);
  if (template === '') return ok(input);
  return ok(
    template.includes('{{input}}')
      ? template.split('{{input}}').join(input)
      : `${template}\n\n${input}`,
  );
}

export const llmInferenceNode = defineTaskNode({
  kind: 'llm::inference',
  description:
    'Generates text with the local model on its `model` pin, streaming tokens as they come; with `json_schema` the output is constrained to it and also parsed onto the `json` pin.',
  params: z.object({ ...GenerationParams, json_schema: JsonSchemaParam }),
  pins: (p) => ({
    inputs: [
      { name: 'model', type: 'json', description: 'From an llm::model node.' },
      { name: 'input', type: 'any', description: 'The prompt (or what fills {{input}}).' },
    ],
    outputs: [
      { name: 'out', type: 'text' },
      ...(p.json_schema === undefined ? [] : [{ name: 'json', type: 'json' as const }]),
    ],
  }),
  execute: async (inputs, ctx) => {
    const p = ctx.params;
    const descriptor = ModelDescriptorSchema.safeParse(inputs.model);
    if (!descriptor.success) {
      return err(
        problem('bad_request', 'the model pin needs an llm::model node connected', ctx.nodeId),
      );
    }
    const prompt = promptOf(inputs, p.prompt, ctx.nodeId);
    if (!prompt.ok) return prompt;
    const gateway = gatewayOf(ctx);
    if (!gateway.ok) return gateway;
    const path = await confinedPath(ctx, descriptor.data.path);
    if (!path.ok) return path;
    const lease = await gateway.value.acquire({
      path: path.value,
      settings: settingsOf(descriptor.data),
      onProgress: (f) => ctx.progress(f, 'loading model'),
      signal: ctx.signal,
    });
    if (!lease.ok) return onNode(lease, ctx.nodeId);
    try {
      const generated = await lease.value.model.generate({
        prompt: prompt.value,
        ...(p.system_prompt === undefined ? {} : { systemPrompt: p.system_prompt }),
        maxTokens: p.max_tokens,
        temperature: p.temperature,
        ...(p.seed === undefined ? {} : { seed: p.seed }),
        ...(p.json_schema === undefined ? {} : { jsonSchema: p.json_schema }),
        onChunk: (text) => ctx.stream(text),
        signal: ctx.signal,
      });
      if (!generated.ok) return onNode(generated, ctx.nodeId);
      if (generated.value.stopReason === 'cancelled') {
        return err(problem('cancelled', 'generation cancelled', ctx.nodeId));
      }
      const text = generated.value.text;
      if (p.json_schema === undefined) return ok({ out: text });
      try {
        return ok({ out: text, json: JSON.parse(text) as unknown });
      } catch {
        return err(
          problem(
            'json_invalid',
            `the model's output is not JSON: ${text.slice(0, 200)}`,
            ctx.nodeId,
          ),
        );
      }
    } finally {
      lease.value.release();
    }
  },
});

export const llmOpenAiNode = defineTaskNode({
  kind: 'llm::openai',
  description:
    'Generates text on any OpenAI-compatible server (Ollama, llama.cpp server, …) by streaming chat completions from base_url.',
  params: z.object({
    base_url: z.url().default('http://127.0.0.1:11434/v1'),
    model: z.string().default(''),
    /** Sent as a bearer token. Stored with the pipeline: prefer a server that needs none. */
    api_key: z.string().optional(),
    ...GenerationParams,
  }),
  pins: () => ({
    inputs: [{ name: 'input', type: 'any' }],
    outputs: [{ name: 'out', type: 'text' }],
  }),
  execute: async (inputs, ctx) => {
    const p = ctx.params;
    const prompt = promptOf(inputs, p.prompt, ctx.nodeId);
    if (!prompt.ok) return prompt;
    const http = service<HttpClient>(
      ctx.services,
      HTTP_CLIENT_SERVICE,
      'upstream_failed',
      ctx.nodeId,
      'HTTP client',
    );
    if (!http.ok) return http;
    const upstream = (message: string) =>
      err(problem('upstream_failed', `${p.base_url}: ${message}`, ctx.nodeId));
    const messages = [
      ...(p.system_prompt === undefined ? [] : [{ role: 'system', content: p.system_prompt }]),
      { role: 'user', content: prompt.value },
    ];
    const response = await http.value.request({
      method: 'POST',
      url: `${p.base_url.replace(/\/+$/, '')}/chat/completions`,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(p.api_key ? { authorization: `Bearer ${p.api_key}` } : {}),
      },
      body: JSON.stringify({
        model: p.model,
        messages,
        temperature: p.temperature,
        max_tokens: p.max_tokens,
        ...(p.seed === undefined ? {} : { seed: p.seed }),
        stream: true,
      }),
      signal: ctx.signal,
    });
    if (!response.ok) return upstream(response.error.message);
    const { status, headers, body } = response.value;
    if (status < 200 || status >= 300) {
      const text = await readText(body, MAX_ERROR_BODY_CHARS);
      return upstream(`HTTP ${status}${text ? `: ${text}` : ''}`);
    }
    const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type');
    if (contentType && contentType[1].includes('application/json')) {
      // A server that ignores `stream: true` answers with one JSON completion.
      const parsed = parseCompletion(await readText(body, Number.MAX_SAFE_INTEGER), 'message');
      if (!parsed.ok) return upstream(parsed.error);
      ctx.stream(parsed.value.text);
      return ok({ out: parsed.value.text });
    }
    const parser = new SseParser();
    let text = '';
    let done = false;
    const handle = (events: string[]): Result<void, string> => {
      for (const data of events) {
        if (data.trim() === '[DONE]') {
          done = true;
          return ok(undefined);
        }
        const chunk = parseCompletion(data, 'delta');
        if (!chunk.ok) return chunk;
        text += chunk.value.text;
        ctx.stream(chunk.value.text);
      }
      return ok(undefined);
    };
    try {
      for await (const bytes of body) {
        if (ctx.signal.stopped)
          return err(problem('cancelled', 'generation cancelled', ctx.nodeId));
        const r = handle(parser.push(bytes));
        if (!r.ok) return upstream(r.error);
        if (done) break;
      }
    } catch (e) {
      if (ctx.signal.stopped) return err(problem('cancelled', 'generation cancelled', ctx.nodeId));
      return upstream(`the stream broke: ${e instanceof Error ? e.message : 'read error'}`);
    }
    if (!done) {
      const r = handle(parser.end());
      if (!r.ok) return upstream(r.error);
    }
    return ok({ out: text });
  },
});

/** The text of one completion object (`delta` for stream chunks, `message` for a whole answer). */
function parseCompletion(
  data: string,
  field: 'delta' | 'message',
): Result<{ text: string }, string> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return err(`malformed SSE event (not JSON): ${data.slice(0, 120)}`);
  }
  if (value === null || typeof value !== 'object') return err('malformed SSE event: not an object');
  const v = value as { error?: { message?: unknown }; choices?: unknown };
  if (v.error) {
    return err(
      `server error: ${typeof v.error.message === 'string' ? v.error.message : JSON.stringify(v.error)}`,
    );
  }
  if (!Array.isArray(v.choices)) return err('malformed SSE event: no choices');
  const first = v.choices[0] as Record<string, { content?: unknown } | undefined> | undefined;
  const content = first?.[field]?.content;
  return ok({ text: typeof content === 'string' ? content : '' });
}

async function readText(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= limit * 4) break;
    }
  } catch {
    // A body that breaks while reading an error message: report what arrived.
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return utf8Decode(all).slice(0, limit).trim();
}

export const llmUnloadNode = defineTaskNode({
  kind: 'llm::unload',
  description:
    'Frees the loaded local model (after its running generations end); outputs {unloaded}. Connect its input to run it after another node.',
  params: z.object({}),
  pins: () => ({
    inputs: [{ name: 'in', type: 'any' }],
    outputs: [{ name: 'out', type: 'json' }],
  }),
  cacheable: false,
  execute: async (_inputs, ctx) => {
    const gateway = gatewayOf(ctx);
    if (!gateway.ok) return gateway;
    return ok({ out: { unloaded: await gateway.value.unload() } });
  },
});
