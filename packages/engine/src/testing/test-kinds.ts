import { z } from 'zod';
import type { NodeInstance, RunContext } from '../node-api';
import { defineNode } from '../node-api';
import type { Packet } from '../packets';
import { NodeRegistry } from '../registry';
import { createDefaultRegistry } from '../builtins';

/** A promise a test settles by hand. */
export interface Gate<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function gate<T = void>(): Gate<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A test may reject a gate nobody awaits (an instant creation): that is not an unhandled error.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** One creation of a test node: the test decides when (and whether) it finishes. */
export interface Creation {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  gate: Gate<void>;
  instance: TestInstance;
}

export interface TestInstance extends NodeInstance<Record<string, unknown>> {
  readonly label: string;
  disposed: number;
  started: boolean;
  received: Packet[];
  tunes: Array<Record<string, unknown>>;
  paramsAtStart: Record<string, unknown> | undefined;
}

const TestParams = z
  .object({
    /** Packets a source sends as soon as it runs. */
    burst: z.number().int().nonnegative().default(0),
    /** A source keeps running (until stopped) after its burst. */
    hold: z.boolean().default(true),
    /** Creation is instant instead of gated. */
    instant: z.boolean().default(false),
    value: z.number().default(0),
    path: z.string().optional(),
  })
  .catchall(z.unknown());
type TestParams = z.infer<typeof TestParams>;

/**
 * Test node kinds with hand-controlled creation (`test::source`, `test::proc`, `test::sink`,
 * `test::text`, `test::file`, `test::thrower`). Every creation and instance is recorded.
 */
export function createTestRegistry(): {
  registry: NodeRegistry;
  creations: Creation[];
  log: string[];
} {
  const creations: Creation[] = [];
  const log: string[] = [];
  let seq = 0;

  function make(
    kind: string,
    pins: {
      inputs: Array<{ name: string; type: 'raw_audio' | 'text' | 'any'; family?: boolean }>;
      outputs: Array<{ name: string; type: 'raw_audio' | 'text' }>;
    },
    body: (
      ctx: RunContext<TestParams>,
      self: TestInstance,
    ) => Promise<'completed' | 'input_closed' | void>,
    extra: { pathParams?: string[] } = {},
  ) {
    return defineNode({
      kind,
      description: `test node ${kind}`,
      params: TestParams,
      pins: () => pins,
      ...extra,
      create: ({ nodeId, params }) => {
        const label = `${nodeId}#${++seq}`;
        const instance: TestInstance = {
          label,
          disposed: 0,
          started: false,
          received: [],
          tunes: [],
          paramsAtStart: undefined,
          async run(ctx) {
            instance.started = true;
            instance.paramsAtStart = { ...ctx.params };
            log.push(`start ${nodeId}`);
            ctx.onTune((p) => instance.tunes.push({ ...p }));
            return body(ctx as RunContext<TestParams>, instance);
          },
          dispose() {
            instance.disposed++;
            log.push(`dispose ${label}`);
          },
        };
        const c: Creation = { id: nodeId, kind, params, gate: gate(), instance };
        creations.push(c);
        if (params.instant) return instance;
        return c.gate.promise.then(() => instance);
      },
    });
  }

  const consume = async (ctx: RunContext<TestParams>, self: TestInstance) => {
    for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
      if (ev.type === 'packet') {
        self.received.push(ev.packet);
        await ctx.send('out', ev.packet).catch(() => {});
      }
    }
    return 'input_closed' as const;
  };

  const registry = new NodeRegistry()
    .register(
      make(
        'test::source',
        { inputs: [], outputs: [{ name: 'out', type: 'raw_audio' }] },
        async (ctx) => {
          for (let i = 0; i < ctx.params.burst; i++) {
            await ctx.send('out', {
              type: 'audio',
              sampleRate: 48_000,
              channels: 1,
              samples: new Float32Array([i]),
              ptsUs: i,
            });
          }
          if (ctx.params.hold) await ctx.signal.promise;
          return 'completed';
        },
      ),
    )
    .register(
      make(
        'test::proc',
        {
          inputs: [{ name: 'in', type: 'raw_audio' }],
          outputs: [{ name: 'out', type: 'raw_audio' }],
        },
        consume,
      ),
    )
    .register(make('test::sink', { inputs: [{ name: 'in', type: 'any' }], outputs: [] }, consume))
    .register(
      make(
        'test::mix',
        {
          inputs: [{ name: 'in_', type: 'raw_audio', family: true }],
          outputs: [{ name: 'out', type: 'raw_audio' }],
        },
        consume,
      ),
    )
    .register(
      make('test::text', { inputs: [], outputs: [{ name: 'out', type: 'text' }] }, async (ctx) => {
        await ctx.signal.promise;
      }),
    )
    .register(
      make(
        'test::file',
        { inputs: [], outputs: [{ name: 'out', type: 'raw_audio' }] },
        async (ctx) => {
          await ctx.signal.promise;
        },
        { pathParams: ['path'] },
      ),
    )
    .register(
      make(
        'test::thrower',
        { inputs: [{ name: 'in', type: 'raw_audio' }], outputs: [] },
        async (ctx, self) => {
          const ev = await ctx.recv();
          if (ev?.type === 'packet') self.received.push(ev.packet);
          throw new Error('boom in run');
        },
      ),
    )
    .register(
      make(
        'test::health',
        { inputs: [{ name: 'in', type: 'raw_audio' }], outputs: [] },
        async (ctx) => {
          ctx.setHealth('degraded', 'input jitter');
          ctx.setHealth('recovering', 'not allowed from degraded');
          await ctx.signal.promise;
        },
      ),
    );
  // The built-in kinds too, so tests can mix them with the gated ones.
  const builtins = createDefaultRegistry();
  for (const kind of builtins.kinds()) registry.register(builtins.get(kind)!);
  return { registry, creations, log };
}

/** The creation of `id` made `n`-th (0 = first) — handy after remove/re-add. */
export function creationOf(creations: Creation[], id: string, n = 0): Creation {
  const c = creations.filter((x) => x.id === id)[n];
  if (!c) throw new Error(`no creation #${n} for ${id}`);
  return c;
}
