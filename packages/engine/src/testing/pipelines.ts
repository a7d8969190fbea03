import { z } from 'zod';
import type { Pipeline } from '@patchbay/protocol';
import { defineNode } from '../node-api';
import type { Packet } from '../packets';
import type { NodeRegistry } from '../registry';

/**
 * Builds a oneshot pipeline for tests from `[id, kind, params]` and `from>to[.pin]` edges
 * (upstream pin `out`; the input pin `in` unless named).
 */
export function pipelineOf(
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

/** Registers a node kind that records every packet it gets into the returned array. */
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
          for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
            if (ev.type === 'packet') got.push(ev.packet);
          }
          return 'input_closed';
        },
      }),
    }),
  );
  return got;
}
