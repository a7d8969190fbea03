import type { Clock, NodeDefinition, NodePins, Packet } from '@patchbay/engine';
import { defineNode } from '@patchbay/engine';
import type { StopReason } from '@patchbay/protocol';
import { assertNever, err } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import type { z } from 'zod';
import type { CodecHost, CodecHostKind, CodecInfo, CodecSpec } from './codec-host';
import { CodecError } from './errors';
import { InlineCodecHost } from './inline-codec-host';
import { ProcessCodecHost } from './process-codec-host';
import { CODEC_MAX_IN_FLIGHT, runCodec } from './run-codec';
import type { CodecAdapter, CodecRunEnd, CodecRunView } from './run-codec';
import { WorkerCodecHost } from './worker-codec-host';

/** How long a codec may take to load and warm before the node fails at initialization. */
export const CODEC_START_TIMEOUT_MS = 30_000;

/** Which codec a node runs, where, and with what init (posted to the codec as is). */
export interface CodecChoice {
  host: CodecHostKind;
  spec: CodecSpec;
  init: unknown;
}

/** A codec node kind: its pins and params, which codec it runs where, and its packet adapter. */
export interface CodecNodeSpec<P> {
  readonly kind: string;
  readonly description: string;
  readonly params: z.ZodType<P>;
  readonly pins: (params: P) => NodePins;
  /** The codec to start for these params and the host kind that runs it (may load things first). */
  codec(params: P): CodecChoice | Promise<CodecChoice>;
  /**
   * A fresh adapter per run; `info` is what the started codec reported (e.g. Opus's lookahead);
   * `run` shows the run's mode, clock and connected inputs (a muxer waits for each input).
   */
  adapter(params: P, info: CodecInfo, nodeId: string, run: CodecRunView): CodecAdapter;
  /** Unacknowledged frames the codec may hold (default CODEC_MAX_IN_FLIGHT; lower it for big frames). */
  readonly maxInFlight?: number;
}

/** Knobs shared by every codec node of a registry (tests shorten the watchdog). */
export interface CodecNodeOptions {
  /** C3 idle timeout; default CODEC_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** Overrides every spec's `maxInFlight` (tests). */
  maxInFlight?: number;
  /** Default CODEC_START_TIMEOUT_MS. */
  startTimeoutMs?: number;
  /** Makes the host for one node; default: the host kind the spec names. */
  createHost?: (kind: CodecHostKind, nodeId: string, nodeKind: string) => CodecHost;
  /** Told how every run ended, before finalize maps it (metrics: runs by outcome). */
  onRunEnd?: (nodeId: string, nodeKind: string, end: CodecRunEnd) => void;
}

/** Definitions made by `defineCodecNode`: the only way in, so membership proves the shared finalize. */
const codecNodes = new WeakSet<object>();

/**
 * The only way codec node kinds are defined. The node starts (and warms) its codec in
 * `initialize`, before the pipeline goes live; `run` is `runCodec` followed by
 * `finalizeCodecRun`; `dispose` terminates the host.
 */
export function defineCodecNode<P>(
  spec: CodecNodeSpec<P>,
  options: CodecNodeOptions = {},
): NodeDefinition<P> {
  const maxInFlight = options.maxInFlight ?? spec.maxInFlight ?? CODEC_MAX_IN_FLIGHT;
  // A quarter of the window per message: the codec always has the next batch queued.
  const batchFrames = Math.max(1, Math.floor(maxInFlight / 4));
  const makeHost = options.createHost ?? ((kind: CodecHostKind) => defaultHost(kind, batchFrames));
  const def = defineNode<P>({
    kind: spec.kind,
    description: spec.description,
    params: spec.params,
    pins: spec.pins,
    create: async (cctx) => {
      const { host: hostKind, spec: codec, init } = await spec.codec(cctx.params);
      const host = makeHost(hostKind, cctx.nodeId, spec.kind);
      let info: CodecInfo = {};
      return {
        async initialize() {
          const started = await startWithin(
            host,
            codec,
            init,
            cctx.clock,
            options.startTimeoutMs ?? CODEC_START_TIMEOUT_MS,
          );
          if (!started.ok) {
            await host.terminate();
            throw started.error;
          }
          info = started.value;
        },
        async run(ctx) {
          const end = await runCodec(ctx, host, {
            ...spec.adapter(ctx.params, info, ctx.nodeId, ctx),
            idleTimeoutMs: options.idleTimeoutMs,
            maxInFlight,
          });
          options.onRunEnd?.(ctx.nodeId, spec.kind, end);
          return finalizeCodecRun(
            { nodeId: ctx.nodeId, kind: spec.kind, codec: codec.name, host: host.kind },
            end,
          );
        },
        dispose: () => host.terminate(),
      };
    },
  });
  codecNodes.add(def);
  return def;
}

/** True when `def` was made by `defineCodecNode` (so its run ends in `finalizeCodecRun`). */
export function isCodecNode(def: unknown): boolean {
  return typeof def === 'object' && def !== null && codecNodes.has(def);
}

/**
 * C5, the one finalize step of every codec node: `completed` → the run returns `input_closed`
 * (`stopped{input_closed}`, success); a watchdog or crash → the run throws, naming the node and
 * saying the output is truncated (`failed{reason}`, and a oneshot run is an error). A node the
 * engine stopped itself returns `shutdown` (its state is already terminal, so nothing changes).
 */
export function finalizeCodecRun(
  who: { nodeId: string; kind: string; codec: string; host: CodecHostKind },
  end: CodecRunEnd,
): StopReason {
  const node = `node ${who.nodeId} (${who.kind})`;
  switch (end.outcome) {
    case 'completed':
      return 'input_closed';
    case 'stopped':
      return 'shutdown';
    case 'watchdog_abandoned':
      throw new CodecError(
        'codec_watchdog_abandoned',
        `${node}: codec ${who.codec} made no progress for ${Math.round(end.idleMs)} ms while waiting for ` +
          `${end.waitingFor === 'flush' ? 'its flush after end of input' : 'room in its full input queue'}; ` +
          `the watchdog abandoned it (${ABANDONED[who.host]}) after ${end.framesOut} output frames; output truncated`,
      );
    case 'crashed':
      throw new CodecError(
        end.cause === 'input' ? 'bad_input' : 'codec_crashed',
        end.cause === 'input'
          ? `${node}: input rejected (${end.error}) after ${end.framesOut} output frames; output truncated`
          : `${node}: codec ${who.codec} crashed (${end.error}) after ${end.framesOut} output frames; output truncated`,
      );
    default:
      return assertNever(end, 'codec run end');
  }
}

/** What abandoning a codec did, per host kind (for the failure reason). */
const ABANDONED: Record<CodecHostKind, string> = {
  worker: 'its worker thread was terminated',
  process: 'its process was killed',
  inline: 'its pending call was dropped',
};

function defaultHost(kind: CodecHostKind, batchFrames: number): CodecHost {
  switch (kind) {
    case 'worker':
      return new WorkerCodecHost({ batchFrames });
    case 'process':
      return new ProcessCodecHost({ batchFrames });
    case 'inline':
      return new InlineCodecHost();
    default:
      return assertNever(kind, 'codec host kind');
  }
}

/** `host.start` bounded by the engine clock: a warm-up that hangs fails the node, it does not park it. */
async function startWithin(
  host: CodecHost,
  codec: CodecSpec,
  init: unknown,
  clock: Clock,
  timeoutMs: number,
): Promise<Result<CodecInfo, CodecError>> {
  let cancel = () => {};
  const timeout = new Promise<Result<CodecInfo, CodecError>>((resolve) => {
    cancel = clock.setTimer(
      () =>
        resolve(
          err(
            new CodecError(
              'codec_start_timeout',
              `codec ${codec.name} was not ready after ${timeoutMs} ms`,
            ),
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([host.start(codec, init), timeout]);
  } finally {
    cancel();
  }
}

/** An adapter's input check: the packet as `type`, or a `bad_input` error naming `what` it takes. */
export function expectType<T extends Packet['type']>(
  packet: Packet,
  type: T,
  what: string,
): Extract<Packet, { type: T }> {
  if (packet.type !== type)
    throw new CodecError('bad_input', `input must be ${what}, not a ${packet.type} packet`);
  return packet as Extract<Packet, { type: T }>;
}
