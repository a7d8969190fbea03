import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { createCodecRegistry, nodeClock, nodeWorkerSpawner } from '@patchbay/codecs';
import {
  COMPOSITOR_THREADS_SERVICE,
  describeStates,
  isTaskDefinition,
  runOneshot,
  taskSinks,
} from '@patchbay/engine';
import type { EngineServices, OneshotIO, RunEvent } from '@patchbay/engine';
import { describeState, importPipelineYaml } from '@patchbay/protocol';
import type { Pipeline, Problem } from '@patchbay/protocol';

/** Exit codes: 0 success, 1 the run or the pipeline failed, 2 usage or file errors. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const USAGE = `usage:
  patchbay run <file.yml> [--input NAME=FILE …] [--output FILE] [--quiet]
               [--data-dir DIR] [--threads N]
  patchbay validate <file.yml>
  patchbay export <sessionId> [--server URL]   (PATCHBAY_SERVER, PATCHBAY_TOKEN)`;

export interface CliStreams {
  stdout: Writable;
  stderr: Writable;
}

/** Runs one CLI command; resolves with the exit code. */
export async function main(argv: string[], streams: CliStreams = process): Promise<number> {
  const say = (line: string) => streams.stderr.write(`${line}\n`);
  const [command, ...rest] = argv;
  const parsed = parseArgs(rest);
  if (!parsed.ok) {
    say(`patchbay: ${parsed.error}\n${USAGE}`);
    return EXIT.usage;
  }
  const args = parsed.value;
  switch (command) {
    case 'run':
      return run(args, streams, say);
    case 'validate':
      return validate(args, streams, say);
    case 'export':
      return exportSession(args, streams, say);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      streams.stdout.write(`${USAGE}\n`);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default:
      say(`patchbay: unknown command "${command}"\n${USAGE}`);
      return EXIT.usage;
  }
}

interface Args {
  positional: string[];
  inputs: Map<string, string>;
  output: string | undefined;
  server: string | undefined;
  quiet: boolean;
  /** Where task nodes' files and models live (default $PATCHBAY_DATA_DIR, else the current directory). */
  dataDir: string | undefined;
  /** CPU threads for local LLM inference. */
  threads: number | undefined;
}

function parseArgs(argv: string[]): { ok: true; value: Args } | { ok: false; error: string } {
  const args: Args = {
    positional: [],
    inputs: new Map(),
    output: undefined,
    server: undefined,
    quiet: false,
    dataDir: undefined,
    threads: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--input' || a.startsWith('--input=')) {
        const v = a.includes('=') && a.startsWith('--input=') ? a.slice('--input='.length) : next();
        const eq = v.indexOf('=');
        if (eq <= 0) return { ok: false, error: `--input takes NAME=FILE, got "${v}"` };
        args.inputs.set(v.slice(0, eq), v.slice(eq + 1));
      } else if (a === '--output' || a === '-o') args.output = next();
      else if (a.startsWith('--output=')) args.output = a.slice('--output='.length);
      else if (a === '--server') args.server = next();
      else if (a.startsWith('--server=')) args.server = a.slice('--server='.length);
      else if (a === '--quiet' || a === '-q') args.quiet = true;
      else if (a === '--data-dir') args.dataDir = next();
      else if (a.startsWith('--data-dir=')) args.dataDir = a.slice('--data-dir='.length);
      else if (a === '--threads' || a.startsWith('--threads=')) {
        const v = a === '--threads' ? next() : a.slice('--threads='.length);
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 256)
          return { ok: false, error: `--threads takes a whole number from 1 to 256, got "${v}"` };
        args.threads = n;
      } else if (a.startsWith('-') && a !== '-') return { ok: false, error: `unknown option ${a}` };
      else args.positional.push(a);
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }
  return { ok: true, value: args };
}

function formatProblem(p: Problem): string {
  return p.node && !p.message.includes(p.node)
    ? `node ${p.node}: ${p.message} [${p.code}]`
    : `${p.message} [${p.code}]`;
}

function loadPipeline(file: string | undefined, say: (l: string) => void): Pipeline | number {
  if (!file) {
    say(`patchbay: missing <file.yml>\n${USAGE}`);
    return EXIT.usage;
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    say(`patchbay: no such file: ${file}`);
    return EXIT.usage;
  }
  const result = importPipelineYaml(readFileSync(file, 'utf8'), createCodecRegistry());
  if (!result.ok) {
    say(`patchbay: ${file}: ${result.error.length} problem${result.error.length === 1 ? '' : 's'}`);
    for (const p of result.error) say(`  ${formatProblem(p)}`);
    return EXIT.failed;
  }
  return result.value;
}

async function validate(
  args: Args,
  streams: CliStreams,
  say: (l: string) => void,
): Promise<number> {
  const pipeline = loadPipeline(args.positional[0], say);
  if (typeof pipeline === 'number') return pipeline;
  const n = Object.keys(pipeline.nodes).length;
  const c = Object.keys(pipeline.connections).length;
  streams.stdout.write(`${args.positional[0]}: ok (${n} nodes, ${c} connections)\n`);
  return EXIT.ok;
}

async function run(args: Args, streams: CliStreams, say: (l: string) => void): Promise<number> {
  const pipeline = loadPipeline(args.positional[0], say);
  if (typeof pipeline === 'number') return pipeline;
  for (const [name, file] of args.inputs) {
    if (!existsSync(file)) {
      say(`patchbay: --input ${name}: no such file: ${file}`);
      return EXIT.usage;
    }
  }
  const out: Writable = args.output ? createWriteStream(args.output) : streams.stdout;
  const io: OneshotIO = {
    input: (name) => {
      const file = args.inputs.get(name);
      return file ? (createReadStream(file) as AsyncIterable<Uint8Array>) : undefined;
    },
    write: (chunk) =>
      out.write(chunk)
        ? undefined
        : new Promise<void>((resolve) => out.once('drain', () => resolve())),
  };
  const started = performance.now();
  const registry = createCodecRegistry();
  const isTask = (kind: string) => {
    const def = registry.get(kind);
    return def !== undefined && isTaskDefinition(def);
  };
  const sinks = taskSinks(pipeline, isTask);
  // Task nodes get files, models and HTTP from @patchbay/inference; media-only runs never load it.
  const taskServices: EngineServices = sinks.length > 0 ? await inferenceServices(args) : {};
  let streamed = false;
  const onRunEvent = (e: RunEvent) => {
    if (e.type === 'node_stream' && !args.quiet) {
      streams.stdout.write(e.chunk);
      streamed = true;
    } else if (e.type === 'node_run_failed' && !args.quiet) {
      if (streamed) streams.stdout.write('\n');
      streamed = false;
      say(`patchbay: ${e.node} failed: ${e.reason}${e.code ? ` [${e.code}]` : ''}`);
    }
  };
  const result = await runOneshot(pipeline, {
    registry,
    clock: nodeClock(),
    // The compositor draws half its rows on a second thread when the host offers one.
    services: { [COMPOSITOR_THREADS_SERVICE]: nodeWorkerSpawner(), ...taskServices },
    io,
    onRunEvent,
    onState: (node, state) => {
      if (!args.quiet && (state.status === 'failed' || state.status === 'stopped')) {
        say(`patchbay: ${node} ${describeState(state)}`);
      }
    },
  });
  if (streamed) streams.stdout.write('\n');
  // The final text of each text::output the run ends in (after the live tokens, if any).
  for (const sink of sinks) {
    if (registry.canonical(pipeline.nodes[sink]!.kind) !== 'text::output') continue;
    const text = result.outputs[sink];
    if (typeof text === 'string') out.write(`${text}\n`);
  }
  if (args.output)
    await new Promise<void>((resolve) =>
      (out as ReturnType<typeof createWriteStream>).end(resolve),
    );
  const ms = Math.round(performance.now() - started);
  if (!result.ok) {
    say(`patchbay: run failed after ${ms} ms`);
    for (const p of result.problems) say(`  ${formatProblem(p)}`);
    if (result.failed.length > 0 && args.output) say(`  the output in ${args.output} is truncated`);
    return EXIT.failed;
  }
  if (!args.quiet)
    say(`patchbay: done in ${ms} ms (${describeStates(result.states).length} nodes)`);
  return EXIT.ok;
}

/** The task-node services of `@patchbay/inference`: data-directory files, node-llama-cpp, fetch. */
async function inferenceServices(args: Args): Promise<EngineServices> {
  const { createInferenceServices } = await import('@patchbay/inference');
  return {
    ...createInferenceServices({
      dataDir: args.dataDir ?? process.env.PATCHBAY_DATA_DIR ?? process.cwd(),
      ...(args.threads !== undefined ? { threads: args.threads } : {}),
    }),
  };
}

async function exportSession(
  args: Args,
  streams: CliStreams,
  say: (l: string) => void,
): Promise<number> {
  const id = args.positional[0];
  if (!id) {
    say(`patchbay: missing <sessionId>\n${USAGE}`);
    return EXIT.usage;
  }
  const server = (args.server ?? process.env.PATCHBAY_SERVER ?? 'http://localhost:4700').replace(
    /\/+$/,
    '',
  );
  const url = `${server}/api/v1/sessions/${encodeURIComponent(id)}/pipeline?format=yaml`;
  let response: Response;
  try {
    // A server with tokens configured wants one (PATCHBAY_TOKEN); an open server takes none.
    const token = process.env.PATCHBAY_TOKEN;
    response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  } catch (e) {
    say(`patchbay: cannot reach ${server}: ${(e as Error).message}`);
    return EXIT.failed;
  }
  const body = await response.text();
  if (!response.ok) {
    say(`patchbay: ${url}: HTTP ${response.status} ${body.slice(0, 500)}`);
    return EXIT.failed;
  }
  streams.stdout.write(body);
  return EXIT.ok;
}
