import { createTimerClock, defineNode } from '@patchbay/engine';
import type { Clock, NodeRegistry, Packet } from '@patchbay/engine';
import type { Pipeline } from '@patchbay/protocol';
import { z } from 'zod';

/** The test codec module (`test-codec.mjs`), runnable in every host. */
export const TEST_CODEC = {
  name: 'test-codec',
  module: new URL('./test-codec.mjs', import.meta.url).href,
} as const;

/** The engine clock on Node's timers: codec tests run real threads and processes. */
export function nodeClock(): Clock {
  return createTimerClock({
    now: () => performance.now(),
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    setImmediate: (callback) => setImmediate(callback),
  });
}

/** Builds a oneshot pipeline from `[id, kind, params]` and `from>to[.pin]` edges. */
export function pipeline(
  nodes: Array<[string, string, Record<string, unknown>?]>,
  edges: string[],
): Pipeline {
  const p: Pipeline = { mode: 'oneshot', nodes: {}, connections: {} };
  for (const [id, kind, params] of nodes) p.nodes[id] = { kind, params: params ?? {} };
  edges.forEach((e, i) => {
    const [from, to] = e.split('>') as [string, string];
    const [toNode, toPin] = to.split('.') as [string, string | undefined];
    p.connections[`c${i}`] = {
      from: { node: from, pin: 'out' },
      to: { node: toNode, pin: toPin ?? 'in' },
      mode: 'reliable',
    };
  });
  return p;
}

/** Registers `test::collect` (records every packet into the returned array). */
export function addCollector(registry: NodeRegistry, kind = 'test::collect'): Packet[] {
  const got: Packet[] = [];
  registry.register(
    defineNode({
      kind,
      description: 'records every packet it gets',
      params: z.object({}),
      pins: () => ({ inputs: [{ name: 'in', type: 'any' }], outputs: [] }),
      create: () => ({
        async run(ctx) {
          for (let ev = await ctx.recv(); ev; ev = await ctx.recv())
            if (ev.type === 'packet') got.push(ev.packet);
          return 'input_closed';
        },
      }),
    }),
  );
  return got;
}

/** Resolves once `check()` holds, polling on a timer (no time limit here: the test's own timeout applies). */
export async function until(check: () => boolean, everyMs = 5): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, everyMs));
}

/** True while a process with this pid exists (signal 0 only checks). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
