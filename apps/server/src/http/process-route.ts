/**
 * `POST /api/v1/process`: a oneshot run. Multipart body: the first field is `config` (pipeline
 * YAML), then one field per `io::input` node, by its `name`. The response streams the
 * `io::output` node's bytes.
 *
 * C6, a failed run is visible to the client:
 * - Headers wait for the first output byte. A run that fails before producing any output is
 *   answered `422 {error: {code: 'run_failed', message, node, problems}}` naming the node.
 * - Once bytes have been sent the status is 200 and cannot change; a node failing then aborts
 *   the response (the chunked body never gets its terminating chunk), so every HTTP client
 *   reports a truncated body as an error instead of a short file that looks complete. (A Web
 *   `Response` cannot send HTTP trailers, so the abort is the signal.)
 */
import { runOneshot } from '@patchbay/engine';
import type { Clock, EngineServices, Logger, NodeRegistry, OneshotIO } from '@patchbay/engine';
import { importPipelineYaml, problem } from '@patchbay/protocol';
import type { Pipeline, Problem } from '@patchbay/protocol';
import type { Context } from 'hono';
import type { Authenticator } from '../auth/auth';
import { canWrite } from '../host/server-context';
import type { Identity, ServerMetrics } from '../host/server-context';
import { errorBody, statusOf } from './http-errors';

/** The largest multipart body a oneshot run accepts. */
export const MAX_PROCESS_BODY_BYTES = 512 * 1024 * 1024;
/** Input fields are fed to the pipeline in chunks of this size. */
const INPUT_CHUNK_BYTES = 64 * 1024;
/** Output chunks buffered ahead of a slow client before the pipeline waits. */
const OUTPUT_HIGH_WATER_CHUNKS = 64;

export interface ProcessRouteOptions {
  readonly registry: NodeRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  readonly authenticator: Authenticator;
  readonly services?: EngineServices;
  readonly identity: (c: Context) => Identity;
}

let runCounter = 0;

export function createProcessHandler(options: ProcessRouteOptions) {
  const log = options.log.child({ mod: 'process' });
  return async (c: Context): Promise<Response> => {
    const fail = (p: Problem | readonly Problem[]) => {
      const first = Array.isArray(p) ? (p as readonly Problem[])[0] : (p as Problem);
      return c.json(errorBody(p), statusOf(first?.code ?? 'internal'));
    };
    const identity = options.identity(c);
    if (!canWrite(identity.role)) return fail(problem('read_only', 'viewers cannot run pipelines'));
    const length = Number(c.req.header('content-length') ?? '0');
    if (length > MAX_PROCESS_BODY_BYTES) {
      return fail(problem('frame_too_large', `the body exceeds ${MAX_PROCESS_BODY_BYTES} bytes`));
    }
    let form: FormData;
    try {
      form = await c.req.raw.formData();
    } catch {
      return fail(
        problem(
          'bad_request',
          'expected a multipart/form-data body: config, then one field per io::input',
        ),
      );
    }
    const names = [...form.keys()];
    if (names[0] !== 'config') {
      return fail(
        problem('bad_request', 'the first multipart field must be config (the pipeline YAML)'),
      );
    }
    const config = form.get('config');
    const yaml = typeof config === 'string' ? config : await (config as Blob).text();
    const parsed = importPipelineYaml(yaml, options.registry);
    if (!parsed.ok) return fail(parsed.error);
    const pipeline = parsed.value;
    const problems = checkPipeline(
      pipeline,
      form,
      identity,
      options.authenticator,
      options.registry,
    );
    if (problems.length > 0) return fail(problems);

    const inputs = new Map<string, Uint8Array>();
    for (const [name, value] of form.entries()) {
      if (name === 'config') continue;
      const bytes =
        typeof value === 'string'
          ? new TextEncoder().encode(value)
          : new Uint8Array(await (value as Blob).arrayBuffer());
      inputs.set(name, bytes);
    }

    const out = new OutputStream(OUTPUT_HIGH_WATER_CHUNKS);
    const io: OneshotIO = {
      input: (name) => {
        const bytes = inputs.get(name);
        return bytes ? chunks(bytes) : undefined;
      },
      write: (chunk) => out.write(chunk),
    };
    const run = ++runCounter;
    const started = options.clock.now();
    const done = runOneshot(pipeline, {
      registry: options.registry,
      clock: options.clock,
      session: `oneshot-${run}`,
      logger: options.log,
      metrics: options.metrics,
      services: options.services ?? {},
      io,
    }).then(
      (result) => {
        if (result.ok) out.end();
        else out.fail(result.problems);
        log.info(
          { run, ok: result.ok, ms: Math.round(options.clock.now() - started), bytes: out.bytes },
          'oneshot run finished',
        );
        return result;
      },
      (e: unknown) => {
        const p = [problem('internal', `the run failed: ${(e as Error).message}`)];
        out.fail(p);
        log.error({ run, err: e }, 'oneshot run threw');
        return { ok: false as const, problems: p, failed: [], states: {}, stats: {} };
      },
    );
    // Headers wait for the first byte, so a failure before any output is a proper error status.
    const first = await Promise.race([out.firstByte, done.then(() => undefined)]);
    if (first === undefined && out.failure) {
      const result = await done;
      const ps = result.ok ? [] : result.problems;
      return c.json(
        errorBody(
          ps.length > 0
            ? ps.map((p) => ({ ...p, code: 'run_failed' as const }))
            : [problem('run_failed', 'the run failed')],
        ),
        422,
      );
    }
    const outputNode = Object.values(pipeline.nodes).find(
      (n) => options.registry.canonical(n.kind) === 'io::output',
    );
    const contentType =
      typeof outputNode?.params.content_type === 'string'
        ? outputNode.params.content_type
        : 'application/octet-stream';
    return new Response(out.stream, {
      status: 200,
      headers: { 'content-type': contentType },
    });
  };
}

/** Role, allowlist and input checks before anything runs: every problem, per node. */
function checkPipeline(
  pipeline: Pipeline,
  form: FormData,
  identity: Identity,
  auth: Authenticator,
  registry: NodeRegistry,
): Problem[] {
  const problems: Problem[] = [];
  let outputs = 0;
  for (const [id, node] of Object.entries(pipeline.nodes)) {
    const refused = auth.checkKind(identity, node.kind, id);
    if (refused) problems.push(refused);
    const kind = registry.canonical(node.kind);
    if (kind === 'io::output') outputs++;
    if (kind === 'io::input') {
      const name = typeof node.params.name === 'string' ? node.params.name : 'input';
      if (!form.has(name)) {
        problems.push(
          problem('bad_request', `node ${id}: io::input needs a multipart field named ${name}`, id),
        );
      }
    }
  }
  if (outputs !== 1) {
    problems.push(
      problem(
        'bad_request',
        `a oneshot pipeline over HTTP needs exactly one io::output node, not ${outputs}`,
      ),
    );
  }
  return problems;
}

async function* chunks(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += INPUT_CHUNK_BYTES) {
    yield bytes.subarray(at, Math.min(bytes.byteLength, at + INPUT_CHUNK_BYTES));
  }
}

/**
 * The response body: output chunks in order, with backpressure (the pipeline waits while the
 * client is `highWater` chunks behind). A client that went away turns writes into no-ops so
 * the run still finishes and frees its resources.
 */
class OutputStream {
  readonly stream: ReadableStream<Uint8Array>;
  readonly firstByte: Promise<true>;
  bytes = 0;
  failure: readonly Problem[] | undefined;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #resolveFirst!: (v: true) => void;
  #waiter: (() => void) | undefined;
  #gone = false;
  #closed = false;

  constructor(highWater: number) {
    this.firstByte = new Promise((r) => (this.#resolveFirst = r));
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => this.#release(),
        cancel: () => {
          this.#gone = true;
          this.#release();
        },
      },
      { highWaterMark: highWater },
    );
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#gone || this.#closed || chunk.byteLength === 0) return;
    // Packets may share buffers with other consumers; the body keeps its own copy.
    this.#controller.enqueue(chunk.slice());
    this.bytes += chunk.byteLength;
    this.#resolveFirst(true);
    if ((this.#controller.desiredSize ?? 1) <= 0) {
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#gone) this.#controller.close();
    this.#release();
  }

  fail(problems: readonly Problem[]): void {
    if (this.#closed) return;
    this.#closed = true;
    this.failure = problems;
    const first = problems[0];
    // Erroring the stream aborts the HTTP response mid-body: the client sees a failed transfer.
    if (!this.#gone) this.#controller.error(new Error(first ? first.message : 'the run failed'));
    this.#release();
  }

  #release(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }
}
