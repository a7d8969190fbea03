import {
  GraphOpSchema,
  applyEditStamp,
  canTransition,
  connectionId,
  describeState,
  err,
  familyIndex,
  findPin,
  isRealized,
  isTerminal,
  ok,
  pinTypesCompatible,
  problem,
  stampViewData,
} from '@patchbay/protocol';
import type {
  Connection,
  ConnectionMode,
  EditStamp,
  Endpoint,
  GraphOp,
  GraphOpInput,
  NodeState,
  NodeStatus,
  PinSpec,
  PipelineMode,
  Problem,
  Result,
  VersionVector,
  ViewDataCause,
  ViewStamp,
} from '@patchbay/protocol';
import { Channel, DEFAULT_CHANNEL_CAPACITY, RAW_VIDEO_CHANNEL_CAPACITY } from './channel';
import type { Clock, Logger, MetricsSink } from './host';
import { nullMetrics, silentLogger } from './host';
import type { EngineServices, NodeInstance, NodePins } from './node-api';
import { isSource } from './node-api';
import { NodeRuntime } from './node-runtime';
import type { Packet } from './packets';
import type { AnyNodeDefinition, NodeRegistry } from './registry';
import { createStopController } from './stop-signal';
import type { StopController } from './stop-signal';
import { DemandRunner } from './tasks/demand-runner';
import type { RunEvent, TaskGraph, TaskGraphNode } from './tasks/demand-runner';
import { CompositeExecutor, builtinExecutor } from './tasks/executor';
import type { TaskExecutor } from './tasks/executor';
import { isTaskDefinition } from './tasks/task-api';

/** Stats are coalesced and flushed to subscribers at most this often (E12). */
export const STATS_FLUSH_INTERVAL_MS = 250;
/** `shutdown()` waits at most this long for running nodes to end (E11). */
export const SHUTDOWN_TIMEOUT_MS = 2_000;
/** The one-hot lifecycle gauge (E13): `patchbay_node_state{session,node,kind,state}`. */
export const NODE_STATE_GAUGE = 'patchbay_node_state';
export const ILLEGAL_TRANSITIONS_COUNTER = 'patchbay_illegal_transitions_total';
export const PACKETS_DROPPED_COUNTER = 'patchbay_packets_dropped_total';

/** What subscribers see. State and run events are never dropped or reordered (E12, X5). */
export type EngineEvent =
  | RunEvent
  | { type: 'node_state'; node: string; kind: string; state: NodeState }
  | { type: 'node_removed'; node: string }
  | { type: 'node_stats'; node: string; stats: Readonly<Record<string, number>> }
  | { type: 'node_view_data'; node: string; data: unknown; stamp: ViewStamp }
  | { type: 'connection_added'; connection: Connection }
  | { type: 'connection_removed'; connection: Connection; reason: string };

export interface EnginePolicy {
  /** When set, only these kinds may be added (single ops and batches alike, E15). */
  allowedKinds?: readonly string[];
  /** The file-path sandbox for `pathParams`: returns a reason when a path is refused. */
  checkPath?: (path: string) => string | undefined;
}

export interface EngineOptions {
  registry: NodeRegistry;
  clock: Clock;
  mode?: PipelineMode;
  session?: string;
  logger?: Logger;
  metrics?: MetricsSink;
  services?: EngineServices;
  policy?: EnginePolicy;
  /** Sources pace to the clock (`realtime`, dynamic default) or run flat out (`unpaced`, oneshot default). */
  pacing?: 'realtime' | 'unpaced';
  channelCapacity?: number;
  shutdownTimeoutMs?: number;
  /**
   * Host executors for task nodes, asked before the engine's own (X2): a host adds a kind (its
   * definition registered in the registry) or overrides one, and answers `{handled: false}`
   * for the rest.
   */
  taskExecutors?: readonly TaskExecutor[];
}

/** What a successful op returns (a connect names the pin it used; a family pin may be new). */
export type OpResult =
  | { op: 'add_node'; id: string; creation: number }
  | { op: 'remove_node'; id: string }
  | { op: 'connect'; connection: Connection; deferred: boolean }
  | { op: 'disconnect'; connection: Connection }
  | { op: 'tune'; id: string; queued: boolean };

/** A snapshot of one node, for `GET …/pipeline` style views and tests. */
export interface NodeSnapshot {
  id: string;
  kind: string;
  state: NodeState;
  params: Readonly<Record<string, unknown>>;
  pins: NodePins;
  stats: Readonly<Record<string, number>>;
  vector: VersionVector;
}

interface NodeRecord {
  readonly id: string;
  readonly kind: string;
  readonly def: AnyNodeDefinition;
  readonly pins: NodePins;
  readonly source: boolean;
  /** E3: the creation id this record waits for; results of other ids are discarded. */
  readonly creation: number;
  readonly createStop: StopController;
  params: Record<string, unknown>;
  state: NodeState;
  instance: NodeInstance<unknown> | undefined;
  runtime: NodeRuntime<unknown> | undefined;
  /** E8: tunes that arrived before the node was realized, replayed in order. */
  pendingTunes: Array<{ params: Record<string, unknown>; stamp: EditStamp | undefined }>;
  /** S4: the highest applied revision of each sender. */
  vector: VersionVector;
  stats: Record<string, number>;
  statsDirty: boolean;
  /** Next member index per input family prefix. */
  familyNext: Map<string, number>;
}

interface ConnectionRecord {
  readonly connection: Connection;
  /** Deferred until both endpoints are realized (E7). */
  channel: Channel | undefined;
}

type Job = () => void;

/**
 * One session's engine: a single control loop (a mailbox drained in order) that owns the graph.
 * Every request and every asynchronous result (a finished creation, a node's end) is a message
 * on the loop, so handlers never interleave and never wait on a node (E2).
 */
export class Engine {
  readonly session: string;
  readonly mode: PipelineMode;
  readonly #registry: NodeRegistry;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: MetricsSink;
  readonly #services: EngineServices;
  readonly #policy: EnginePolicy;
  readonly #pacing: 'realtime' | 'unpaced';
  readonly #capacity: number;
  readonly #shutdownTimeoutMs: number;
  readonly #runner: DemandRunner;

  readonly #nodes = new Map<string, NodeRecord>();
  readonly #connections = new Map<string, ConnectionRecord>();
  readonly #listeners = new Set<(event: EngineEvent) => void>();
  /** Output taps by node id, then pin (see `tap`). */
  readonly #taps = new Map<string, Map<string, Set<(packet: Packet) => void>>>();
  /** Instances that outlived their record (removed while running); disposed when their run ends. */
  readonly #draining = new Set<Promise<void>>();
  readonly #mailbox: Job[] = [];
  #inLoop = false;
  /** Runtimes whose `run` was started; their instance is disposed when `run` settles. */
  readonly #started = new WeakSet<NodeRuntime<unknown>>();
  #creationCounter = 0;
  #statsTimer: (() => void) | undefined;
  #shutDown = false;
  #activated = false;
  /** Handling latency of the last requests (enqueue → handled), for the responsiveness benchmark. */
  readonly latencies: number[] = [];
  recordLatency = false;

  constructor(options: EngineOptions) {
    this.session = options.session ?? 'default';
    this.mode = options.mode ?? 'dynamic';
    this.#registry = options.registry;
    this.#clock = options.clock;
    this.#log = (options.logger ?? silentLogger).child({ mod: 'engine', session: this.session });
    this.#metrics = options.metrics ?? nullMetrics;
    this.#services = options.services ?? {};
    this.#policy = options.policy ?? {};
    this.#pacing = options.pacing ?? (this.mode === 'oneshot' ? 'unpaced' : 'realtime');
    this.#capacity = options.channelCapacity ?? DEFAULT_CHANNEL_CAPACITY;
    this.#shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;
    this.#runner = new DemandRunner({
      executor: new CompositeExecutor([...(options.taskExecutors ?? []), builtinExecutor]),
      services: this.#services,
      logger: this.#log.child({ mod: 'tasks' }),
      clock: this.#clock,
      // Run events go through the mailbox like every other event, so they keep their order
      // relative to state events and never reach a subscriber from inside a handler.
      emit: (event) => this.#post(() => this.#emit(event)),
    });
  }

  // ---------------------------------------------------------------- public API (all via the loop)

  /** Subscribes to every event; returns the dispose function. */
  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Calls `listener` with every packet node `nodeId` sends on `pin` (connected or not), for
   * previews and probes; it also applies to a node added later under that id. The listener runs
   * on the node's send path, so it must be quick and must not keep or change the packet's
   * buffers beyond the call (packets are immutable). Returns the dispose function.
   */
  tap(nodeId: string, pin: string, listener: (packet: Packet) => void): () => void {
    let pins = this.#taps.get(nodeId);
    if (!pins) this.#taps.set(nodeId, (pins = new Map()));
    let listeners = pins.get(pin);
    if (!listeners) pins.set(pin, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) pins.delete(pin);
      if (pins.size === 0) this.#taps.delete(nodeId);
    };
  }

  #tapped(nodeId: string, pin: string, packet: Packet): void {
    const listeners = this.#taps.get(nodeId)?.get(pin);
    if (!listeners) return;
    // A tap may keep the packet for as long as it likes: its buffer is never recycled.
    if (packet.type === 'video') packet.lease?.keep();
    for (const listener of listeners) {
      try {
        listener(packet);
      } catch (e) {
        this.#log.warn({ node: nodeId, pin, err: String(e) }, 'output tap failed');
      }
    }
  }

  /** Runs one graph op on the control loop. Bad input of any shape is an error value. */
  request(input: GraphOpInput | unknown): Promise<Result<OpResult>> {
    return this.#call(() => {
      const parsed = GraphOpSchema.safeParse(input);
      if (!parsed.success) return err(badRequest(parsed.error.issues));
      return this.#applyOp(parsed.data);
    });
  }

  addNode(
    id: string,
    kind: string,
    params: Record<string, unknown> = {},
  ): Promise<Result<OpResult>> {
    return this.request({ op: 'add_node', id, kind, params });
  }

  removeNode(id: string): Promise<Result<OpResult>> {
    return this.request({ op: 'remove_node', id });
  }

  connect(
    from: { node: string; pin?: string },
    to: { node: string; pin?: string },
    mode: ConnectionMode = 'reliable',
  ): Promise<Result<OpResult>> {
    return this.request({ op: 'connect', from, to, mode });
  }

  disconnect(from: Endpoint, to: Endpoint): Promise<Result<OpResult>> {
    return this.request({ op: 'disconnect', from, to });
  }

  tune(id: string, params: Record<string, unknown>, stamp?: EditStamp): Promise<Result<OpResult>> {
    return this.request({ op: 'tune', id, params, ...(stamp ? { stamp } : {}) });
  }

  /** E15: every problem the batch would hit, simulating its add/remove sequence. */
  validateBatch(ops: readonly unknown[]): Promise<Problem[]> {
    return this.#call(() => this.#validateBatch(ops).problems);
  }

  /** E15: all-or-nothing. Nothing is applied unless the whole batch validates. */
  applyBatch(ops: readonly unknown[]): Promise<Result<OpResult[], Problem[]>> {
    return this.#call((): Result<OpResult[], Problem[]> => {
      const { problems, parsed } = this.#validateBatch(ops);
      if (problems.length > 0) return err(problems);
      const results: OpResult[] = [];
      for (const op of parsed) {
        const r = this.#applyOp(op);
        // The simulation accepted it; a failure here is a bug in the simulation.
        if (!r.ok) throw new Error(`batch op refused after validation: ${r.error.message}`);
        results.push(r.value);
      }
      return ok(results);
    });
  }

  /**
   * X5: starts a demand run of task node `id` and of what it needs upstream; answers at once
   * with the run id. Progress, streamed chunks and the result arrive as run events.
   */
  demand(id: string): Promise<Result<{ run: string }>> {
    return this.#call((): Result<{ run: string }> => {
      if (this.#shutDown) {
        return err(problem('engine_shut_down', 'the session engine has shut down'));
      }
      const rec = this.#nodes.get(id);
      if (!rec) return err(problem('unknown_node', `demand: node ${id} does not exist`, id));
      if (!isTaskDefinition(rec.def)) {
        return err(
          problem(
            'bad_request',
            `demand: node ${id} (${rec.kind}) streams media; only task nodes can be demanded`,
            id,
          ),
        );
      }
      return ok({ run: this.#runner.start(this.#taskGraph(), id) });
    });
  }

  /** X5: cancels a demand run at once (a generation in flight stops through its signal). */
  cancel(run: string): Promise<Result<void>> {
    return this.#call(() => this.#runner.cancel(run));
  }

  /** Answers a `human::input` node waiting in run `run`. */
  answer(run: string, node: string, value: unknown): Promise<Result<void>> {
    return this.#call(() => this.#runner.answer(run, node, value));
  }

  /** Ids of demand runs in flight. */
  runsInFlight(): string[] {
    return this.#runner.inFlight();
  }

  /** The graph as a run sees it: every node's params and pins, every connection (X6 versions). */
  #taskGraph(): TaskGraph {
    const nodes = new Map<string, TaskGraphNode>();
    for (const r of this.#nodes.values()) {
      nodes.set(r.id, {
        id: r.id,
        kind: r.kind,
        definition: r.def,
        params: r.params,
        pins: r.pins,
      });
    }
    return { nodes, connections: [...this.#connections.values()].map((c) => c.connection) };
  }

  /** The current graph: nodes with state and params, live and deferred connections. */
  snapshot(): { nodes: NodeSnapshot[]; connections: Array<Connection & { deferred: boolean }> } {
    return {
      nodes: [...this.#nodes.values()].map((r) => ({
        id: r.id,
        kind: r.kind,
        state: r.state,
        params: r.params,
        pins: r.pins,
        stats: { ...r.stats },
        vector: r.vector,
      })),
      connections: [...this.#connections.values()].map((c) => ({
        ...c.connection,
        deferred: c.channel === undefined,
      })),
    };
  }

  state(id: string): NodeState | undefined {
    return this.#nodes.get(id)?.state;
  }

  get isShutDown(): boolean {
    return this.#shutDown;
  }

  /**
   * E11: stops every node, discards in-flight creations (disposed when they settle), cancels
   * demand runs, waits for running nodes and task executions at most `shutdownTimeoutMs`, and
   * leaves every state gauge at zero.
   */
  async shutdown(): Promise<void> {
    const waits = await this.#call(() => {
      if (this.#shutDown) return [] as Array<Promise<void>>;
      this.#shutDown = true;
      this.#runner.cancelAll();
      this.#statsTimer?.();
      this.#statsTimer = undefined;
      for (const rec of [...this.#nodes.values()]) {
        if (!isTerminal(rec.state.status))
          this.#setState(rec, { status: 'stopped', reason: 'shutdown' });
        this.#release(rec);
        this.#gauge(rec, rec.state.status, 0);
      }
      this.#nodes.clear();
      this.#connections.clear();
      // Task work of cancelled runs counts too: after shutdown a host may free its backends.
      const waits = [...this.#draining];
      if (this.#runner.executing) waits.push(this.#runner.settled());
      return waits;
    });
    if (waits.length === 0) return;
    let cancelTimer = () => {};
    const timeout = new Promise<void>((resolve) => {
      cancelTimer = this.#clock.setTimer(resolve, this.#shutdownTimeoutMs);
    });
    await Promise.race([Promise.all(waits).then(() => undefined), timeout]);
    cancelTimer();
  }

  // ---------------------------------------------------------------- the loop

  #call<T>(handler: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const enqueued = this.recordLatency ? this.#clock.now() : 0;
      this.#post(() => {
        try {
          resolve(handler());
        } catch (e) {
          reject(e);
        }
        if (this.recordLatency) this.latencies.push(this.#clock.now() - enqueued);
      });
    });
  }

  /** Enqueues a job; drains at once unless a job is already running (no reentrancy). */
  #post(job: Job): void {
    this.#mailbox.push(job);
    if (this.#inLoop) return;
    this.#inLoop = true;
    try {
      for (let next = this.#mailbox.shift(); next; next = this.#mailbox.shift()) next();
    } finally {
      this.#inLoop = false;
    }
  }

  #emit(event: EngineEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (e) {
        this.#log.error({ err: e, event: event.type }, 'engine subscriber threw');
      }
    }
  }

  // ---------------------------------------------------------------- ops

  #applyOp(op: GraphOp): Result<OpResult> {
    if (this.#shutDown) return err(problem('engine_shut_down', 'the session engine has shut down'));
    switch (op.op) {
      case 'add_node':
        return this.#addNode(op.id, op.kind, op.params);
      case 'remove_node':
        return this.#removeNode(op.id);
      case 'connect':
        return this.#connect(op.from, op.to, op.mode);
      case 'disconnect':
        return this.#disconnect(op.from, op.to);
      case 'tune':
        return this.#tune(op.id, op.params, op.stamp);
      default: {
        const never: never = op;
        throw new Error(`unhandled op ${JSON.stringify(never)}`);
      }
    }
  }

  /** Checks an add against the registry and the policy (shared by single ops and batches). */
  #checkAdd(
    id: string,
    kind: string,
    rawParams: Record<string, unknown>,
  ): Result<{ def: AnyNodeDefinition; params: Record<string, unknown>; pins: NodePins }> {
    const def = this.#registry.get(kind);
    if (!def) return err(problem('unknown_kind', `node ${id}: unknown kind ${kind}`, id));
    if (def.oneshotOnly && this.mode !== 'oneshot') {
      return err(
        problem('oneshot_only', `node ${id}: ${def.kind} is only allowed in oneshot runs`, id),
      );
    }
    const allowed = this.#policy.allowedKinds;
    if (allowed && !allowed.includes(def.kind)) {
      return err(
        problem('kind_not_allowed', `node ${id}: kind ${def.kind} is not allowed here`, id),
      );
    }
    const parsed = this.#registry.parseParams(def, rawParams);
    if (!parsed.ok) return err(problem('bad_params', `node ${id}: ${parsed.error}`, id));
    const refused = this.#checkPaths(id, def, parsed.value);
    if (refused) return err(refused);
    return ok({ def, params: parsed.value, pins: def.pins(parsed.value) });
  }

  /** The file-path sandbox over a kind's `pathParams` (adds, tunes and batches alike, E15). */
  #checkPaths(
    id: string,
    def: AnyNodeDefinition,
    params: Record<string, unknown>,
  ): Problem | undefined {
    for (const key of def.pathParams ?? []) {
      const value = params[key];
      if (value === undefined || value === '') continue;
      const reason =
        typeof value !== 'string'
          ? 'a path must be a string'
          : (this.#policy.checkPath ?? defaultPathCheck)(value);
      if (reason) return problem('path_not_allowed', `node ${id}: ${key}: ${reason}`, id);
    }
    return undefined;
  }

  #addNode(id: string, kind: string, rawParams: Record<string, unknown>): Result<OpResult> {
    // E6: any existing record (in flight, live, failed or stopped residue) blocks the id.
    const existing = this.#nodes.get(id);
    if (existing) {
      return err(
        problem(
          'duplicate_node',
          `node ${id} already exists (${describeState(existing.state)})`,
          id,
        ),
      );
    }
    const checked = this.#checkAdd(id, kind, rawParams);
    if (!checked.ok) return checked;
    const { def, params, pins } = checked.value;
    const creation = ++this.#creationCounter;
    const rec: NodeRecord = {
      id,
      kind: def.kind,
      def,
      pins,
      source: isSource(pins),
      creation,
      createStop: createStopController(),
      params,
      state: { status: 'creating' },
      instance: undefined,
      runtime: undefined,
      pendingTunes: [],
      vector: {},
      stats: {},
      statsDirty: false,
      familyNext: new Map(),
    };
    this.#nodes.set(id, rec);
    this.#gauge(rec, 'creating', 1);
    this.#emit({ type: 'node_state', node: id, kind: rec.kind, state: rec.state });
    this.#startCreation(rec);
    return ok({ op: 'add_node', id, creation });
  }

  /** E2/E3: the factory runs in the background; its result comes back as a loop message. */
  #startCreation(rec: NodeRecord): void {
    let created: Promise<NodeInstance<unknown>>;
    try {
      created = Promise.resolve(
        rec.def.create({
          nodeId: rec.id,
          kind: rec.kind,
          params: rec.params,
          mode: this.mode,
          logger: this.#log.child({ node: rec.id }),
          clock: this.#clock,
          services: this.#services,
          signal: rec.createStop.signal,
        }),
      );
    } catch (e) {
      created = Promise.reject(e);
    }
    created.then(
      (instance) =>
        this.#post(() => this.#creationSettled(rec.id, rec.creation, instance, undefined)),
      (error: unknown) =>
        this.#post(() => this.#creationSettled(rec.id, rec.creation, undefined, error)),
    );
  }

  #isActive(id: string, creation: number): NodeRecord | undefined {
    const rec = this.#nodes.get(id);
    return rec && rec.creation === creation ? rec : undefined;
  }

  #creationSettled(
    id: string,
    creation: number,
    instance: NodeInstance<unknown> | undefined,
    error: unknown,
  ): void {
    const rec = this.#isActive(id, creation);
    if (!rec || rec.state.status !== 'creating') {
      // E3: a creation nobody waits for any more (removed, re-added, shut down) is disposed here,
      // not earlier: the factory may have held a resource until it settled.
      if (instance) this.#dispose(id, instance);
      this.#log.debug({ node: id, creation }, 'stale creation discarded');
      return;
    }
    if (!instance) {
      this.#fail(rec, `creation failed: ${errorMessage(error)}`);
      return;
    }
    rec.instance = instance;
    this.#setState(rec, { status: 'initializing' });
    let init: Promise<void>;
    try {
      init = Promise.resolve(instance.initialize?.());
    } catch (e) {
      init = Promise.reject(e);
    }
    init.then(
      () => this.#post(() => this.#initSettled(id, creation, undefined)),
      (e: unknown) => this.#post(() => this.#initSettled(id, creation, e ?? new Error('rejected'))),
    );
  }

  #initSettled(id: string, creation: number, error: unknown): void {
    const rec = this.#isActive(id, creation);
    if (!rec || rec.state.status !== 'initializing') return; // removed meanwhile: release disposed it
    if (error !== undefined) {
      this.#fail(rec, `initialization failed: ${errorMessage(error)}`);
      return;
    }
    const runtime = new NodeRuntime<unknown>(
      rec.id,
      this.mode,
      this.#pacing,
      this.#clock,
      this.#log.child({ node: rec.id }),
      {
        params: () => rec.params,
        health: (status, reason) => this.#post(() => this.#health(rec, status, reason)),
        stats: (values) => this.#mergeStats(rec, values),
        viewData: (data, cause) => this.#viewData(rec, data, cause),
        countersChanged: () => this.#markStats(rec),
        output: (pin, packet) => this.#tapped(rec.id, pin, packet),
      },
    );
    rec.runtime = runtime;
    // E8: replay queued tunes in order; the node starts with the latest values.
    const queued = rec.pendingTunes;
    rec.pendingTunes = [];
    for (const t of queued) this.#applyTune(rec, t.params, t.stamp);
    if (this.#nodes.get(id) !== rec || isTerminal(rec.state.status)) return;
    if (rec.source) {
      this.#setState(rec, { status: 'ready' });
    } else {
      this.#setState(rec, { status: 'running' });
      this.#startRun(rec);
    }
    this.#realizeConnections(rec);
    this.#maybeActivate();
  }

  #startRun(rec: NodeRecord): void {
    const runtime = rec.runtime;
    const instance = rec.instance;
    if (!runtime || !instance) return;
    runtime.started();
    this.#started.add(runtime);
    let run: Promise<unknown>;
    try {
      run = Promise.resolve(instance.run(runtime.context));
    } catch (e) {
      run = Promise.reject(e);
    }
    const ended = run.then(
      (reason) => this.#post(() => this.#runEnded(rec, runtime, reason, undefined)),
      (e: unknown) =>
        this.#post(() => this.#runEnded(rec, runtime, undefined, e ?? new Error('rejected'))),
    );
    this.#track(ended.then(() => this.#dispose(rec.id, instance)));
  }

  #runEnded(rec: NodeRecord, runtime: NodeRuntime<unknown>, reason: unknown, error: unknown): void {
    runtime.closeAll();
    this.#flushCounters(rec, runtime);
    if (this.#nodes.get(rec.id) !== rec || rec.runtime !== runtime) return;
    if (error !== undefined) {
      this.#fail(rec, errorMessage(error));
      return;
    }
    if (isTerminal(rec.state.status)) return;
    const stop = typeof reason === 'string' && STOP_REASONS.has(reason) ? reason : undefined;
    this.#setState(rec, {
      status: 'stopped',
      reason: (stop as StopReasonName | undefined) ?? (rec.source ? 'completed' : 'input_closed'),
    });
  }

  /** E10: start `ready` sources once no node is still being created or initialized. */
  #maybeActivate(): void {
    for (const rec of this.#nodes.values()) {
      const s = rec.state.status;
      // Failed and stopped nodes are settled: they never block the rest (E14 isolation).
      if (s === 'creating' || s === 'initializing') return;
    }
    if (!this.#activated) {
      this.#activated = true;
      if (this.mode === 'oneshot') {
        // A oneshot processor that nothing feeds would wait forever: it ends at once.
        for (const rec of [...this.#nodes.values()]) {
          if (
            !rec.source &&
            rec.runtime &&
            !rec.runtime.hasInputConnections() &&
            rec.state.status === 'running'
          ) {
            rec.runtime.stop();
            this.#setState(rec, { status: 'stopped', reason: 'no_inputs' });
          }
        }
      }
    }
    for (const rec of [...this.#nodes.values()]) {
      if (rec.source && rec.state.status === 'ready') {
        this.#setState(rec, { status: 'running' });
        this.#startRun(rec);
      }
    }
  }

  #health(
    rec: NodeRecord,
    status: 'running' | 'degraded' | 'recovering',
    reason: string | undefined,
  ): void {
    if (this.#nodes.get(rec.id) !== rec) return;
    if (status === rec.state.status) return;
    const next: NodeState =
      status === 'running' ? { status } : { status, reason: reason ?? 'unspecified' };
    this.#setState(rec, next);
  }

  #fail(rec: NodeRecord, reason: string): void {
    if (isTerminal(rec.state.status)) return;
    this.#setState(rec, { status: 'failed', reason });
    this.#log.warn({ node: rec.id, kind: rec.kind, reason }, 'node failed');
    // E9: queued tunes and deferred connects that reference the node are drained.
    rec.pendingTunes = [];
    for (const [key, c] of [...this.#connections]) {
      if (c.channel) continue;
      if (c.connection.from.node === rec.id || c.connection.to.node === rec.id) {
        this.#connections.delete(key);
        this.#emit({
          type: 'connection_removed',
          connection: c.connection,
          reason: `node ${rec.id} failed`,
        });
      }
    }
    this.#release(rec);
    this.#maybeActivate();
  }

  #removeNode(id: string): Result<OpResult> {
    const rec = this.#nodes.get(id);
    if (!rec) return err(problem('unknown_node', `node ${id} does not exist`, id));
    this.#nodes.delete(id);
    this.#runner.forget(id);
    for (const [key, c] of [...this.#connections]) {
      const { from, to } = c.connection;
      if (from.node !== id && to.node !== id) continue;
      this.#dropConnection(key, c);
      this.#emit({
        type: 'connection_removed',
        connection: c.connection,
        reason: `node ${id} removed`,
      });
    }
    this.#release(rec);
    this.#gauge(rec, rec.state.status, 0);
    this.#emit({ type: 'node_removed', node: id });
    this.#maybeActivate();
    return ok({ op: 'remove_node', id });
  }

  /** E4/E11: cancels a creation, stops a run; the instance is disposed when its task settles. */
  #release(rec: NodeRecord): void {
    rec.createStop.stop();
    const runtime = rec.runtime;
    if (runtime) {
      runtime.stop();
      runtime.closeAll();
    }
    const instance = rec.instance;
    // Initialized but never started (a `ready` source, or removed while initializing): nothing
    // else will dispose it. A started run disposes its instance when `run` settles.
    if (instance && !(runtime && this.#started.has(runtime))) this.#dispose(rec.id, instance);
    rec.instance = undefined;
  }

  #track(p: Promise<void>): void {
    const tracked = p.finally(() => this.#draining.delete(tracked));
    this.#draining.add(tracked);
  }

  #dispose(id: string, instance: NodeInstance<unknown>): void {
    let done: Promise<void>;
    try {
      done = Promise.resolve(instance.dispose?.());
    } catch (e) {
      done = Promise.reject(e);
    }
    this.#track(done.catch((e: unknown) => this.#log.warn({ node: id, err: e }, 'dispose failed')));
  }

  // ---------------------------------------------------------------- connections

  #resolveConnect(
    from: { node: string; pin?: string | undefined },
    to: { node: string; pin?: string | undefined },
    mode: ConnectionMode,
    nodes: ReadonlyMap<
      string,
      { pins: NodePins; status: NodeStatus; familyNext: Map<string, number> }
    >,
    taken: (to: Endpoint) => boolean,
    exists: (id: string) => boolean,
  ): Result<Connection> {
    const src = nodes.get(from.node);
    const dst = nodes.get(to.node);
    if (!src)
      return err(problem('unknown_node', `connect: node ${from.node} does not exist`, from.node));
    if (!dst)
      return err(problem('unknown_node', `connect: node ${to.node} does not exist`, to.node));
    if (from.node === to.node) {
      return err(problem('self_reference', `connect: node ${to.node} cannot feed itself`, to.node));
    }
    for (const [n, s] of [
      [from.node, src.status],
      [to.node, dst.status],
    ] as const) {
      if (s === 'failed') return err(problem('node_failed', `connect: node ${n} has failed`, n));
      if (s === 'stopped') return err(problem('node_stopped', `connect: node ${n} has stopped`, n));
    }
    const outPin = from.pin ?? defaultPin(src.pins.outputs, 'out');
    const outSpec = outPin ? findPin(src.pins.outputs, outPin) : undefined;
    if (!outPin || !outSpec) {
      return err(
        problem(
          'unknown_pin',
          `connect: node ${from.node} has no output pin ${from.pin ?? '(default)'}`,
          from.node,
        ),
      );
    }
    let inPin = to.pin;
    if (inPin === undefined || inPin.endsWith('*')) {
      const family = dst.pins.inputs.find(
        (p) => p.family && (inPin === undefined || `${p.name}*` === inPin),
      );
      if (inPin === undefined && !family) inPin = defaultPin(dst.pins.inputs, 'in');
      else if (family) inPin = `${family.name}${dst.familyNext.get(family.name) ?? 0}`;
    }
    const inSpec = inPin ? findPin(dst.pins.inputs, inPin) : undefined;
    if (!inPin || !inSpec) {
      return err(
        problem(
          'unknown_pin',
          `connect: node ${to.node} has no input pin ${to.pin ?? '(default)'}`,
          to.node,
        ),
      );
    }
    if (!pinTypesCompatible(outSpec.type, inSpec.type)) {
      return err(
        problem(
          'pin_type_mismatch',
          `connect: ${from.node}.${outPin} (${outSpec.type}) cannot feed ${to.node}.${inPin} (${inSpec.type})`,
          to.node,
        ),
      );
    }
    const connection: Connection = {
      from: { node: from.node, pin: outPin },
      to: { node: to.node, pin: inPin },
      mode,
    };
    if (exists(connectionId(connection))) {
      return err(
        problem(
          'duplicate_connection',
          `connect: ${connectionId(connection)} already exists`,
          to.node,
        ),
      );
    }
    if (taken(connection.to)) {
      return err(
        problem('pin_in_use', `connect: input ${to.node}.${inPin} is already connected`, to.node),
      );
    }
    return ok(connection);
  }

  #connect(
    from: { node: string; pin?: string | undefined },
    to: { node: string; pin?: string | undefined },
    mode: ConnectionMode,
  ): Result<OpResult> {
    const r = this.#resolveConnect(
      from,
      to,
      mode,
      this.#liveView(),
      (ep) => this.#inputTaken(ep),
      (key) => this.#connections.has(key),
    );
    if (!r.ok) return r;
    const connection = r.value;
    const dst = this.#nodes.get(connection.to.node)!;
    bumpFamily(dst.pins.inputs, dst.familyNext, connection.to.pin);
    const rec: ConnectionRecord = { connection, channel: undefined };
    this.#connections.set(connectionId(connection), rec);
    const deferred = !this.#tryRealize(rec);
    this.#emit({ type: 'connection_added', connection });
    return ok({ op: 'connect', connection, deferred });
  }

  #liveView(): Map<
    string,
    { pins: NodePins; status: NodeStatus; familyNext: Map<string, number> }
  > {
    const view = new Map<
      string,
      { pins: NodePins; status: NodeStatus; familyNext: Map<string, number> }
    >();
    for (const r of this.#nodes.values())
      view.set(r.id, { pins: r.pins, status: r.state.status, familyNext: r.familyNext });
    return view;
  }

  #inputTaken(ep: Endpoint): boolean {
    for (const c of this.#connections.values()) {
      if (c.connection.to.node === ep.node && c.connection.to.pin === ep.pin) return true;
    }
    return false;
  }

  /** E7: links a connection whose endpoints are both realized; returns whether it is live. */
  #tryRealize(c: ConnectionRecord): boolean {
    if (c.channel) return true;
    const src = this.#nodes.get(c.connection.from.node);
    const dst = this.#nodes.get(c.connection.to.node);
    if (!src?.runtime || !dst?.runtime) return false;
    if (!isRealized(src.state.status) || !isRealized(dst.state.status)) return false;
    // Raw video links hold fewer packets: each is megabytes (a 720p RGBA frame is 3.7 MB), and an
    // unpaced source would otherwise keep 16 of them queued, all fresh memory to fault in.
    const raw = findPin(src.pins.outputs, c.connection.from.pin)?.type === 'raw_video';
    const capacity = raw ? Math.min(this.#capacity, RAW_VIDEO_CHANNEL_CAPACITY) : this.#capacity;
    const channel = new Channel(c.connection.mode, capacity);
    c.channel = channel;
    dst.runtime.attachInput(c.connection.to.pin, channel);
    src.runtime.attachOutput(c.connection.from.pin, channel);
    return true;
  }

  #realizeConnections(rec: NodeRecord): void {
    for (const c of this.#connections.values()) {
      if (c.channel) continue;
      if (c.connection.from.node === rec.id || c.connection.to.node === rec.id) this.#tryRealize(c);
    }
  }

  #dropConnection(key: string, c: ConnectionRecord): void {
    this.#connections.delete(key);
    const ch = c.channel;
    if (!ch) return;
    this.#nodes.get(c.connection.to.node)?.runtime?.detachInput(c.connection.to.pin, ch);
    this.#nodes.get(c.connection.from.node)?.runtime?.detachOutput(c.connection.from.pin, ch);
    ch.detach();
  }

  #disconnect(from: Endpoint, to: Endpoint): Result<OpResult> {
    const key = connectionId({ from, to });
    const c = this.#connections.get(key);
    // E7: a disconnect also removes a matching queued connect.
    if (!c) return err(problem('unknown_connection', `disconnect: ${key} does not exist`, to.node));
    this.#dropConnection(key, c);
    this.#emit({ type: 'connection_removed', connection: c.connection, reason: 'disconnected' });
    return ok({ op: 'disconnect', connection: c.connection });
  }

  // ---------------------------------------------------------------- params

  #tune(
    id: string,
    partial: Record<string, unknown>,
    stamp: EditStamp | undefined,
  ): Result<OpResult> {
    const rec = this.#nodes.get(id);
    if (!rec) return err(problem('unknown_node', `tune: node ${id} does not exist`, id));
    const merged = this.#registry.parseParams(rec.def, { ...rec.params, ...partial });
    if (!merged.ok) return err(problem('bad_params', `node ${id}: ${merged.error}`, id));
    const refused = this.#checkPaths(id, rec.def, merged.value);
    if (refused) return err(refused);
    const status = rec.state.status;
    if (status === 'creating' || status === 'initializing') {
      rec.pendingTunes.push({ params: partial, stamp });
      return ok({ op: 'tune', id, queued: true });
    }
    this.#applyTune(rec, partial, stamp);
    return ok({ op: 'tune', id, queued: false });
  }

  #applyTune(
    rec: NodeRecord,
    partial: Record<string, unknown>,
    stamp: EditStamp | undefined,
  ): void {
    const merged = this.#registry.parseParams(rec.def, { ...rec.params, ...partial });
    if (!merged.ok) return; // validated when queued; params of other tunes cannot make it invalid
    rec.params = merged.value;
    // S4: record the sender's revision; an unstamped edit leaves the vector as it is.
    rec.vector = applyEditStamp(rec.vector, stamp);
    const runtime = rec.runtime;
    if (!runtime || isTerminal(rec.state.status)) return;
    try {
      runtime.tuned(rec.params, partial);
    } catch (e) {
      this.#fail(rec, `tune failed: ${errorMessage(e)}`);
    }
  }

  // ---------------------------------------------------------------- stats and view data

  #mergeStats(rec: NodeRecord, values: Readonly<Record<string, number>>): void {
    Object.assign(rec.stats, values);
    this.#markStats(rec);
  }

  #markStats(rec: NodeRecord): void {
    rec.statsDirty = true;
    if (this.#statsTimer || this.#shutDown) return;
    this.#statsTimer = this.#clock.setTimer(
      () => this.#post(() => this.#flushStats()),
      STATS_FLUSH_INTERVAL_MS,
    );
  }

  #flushStats(): void {
    this.#statsTimer = undefined;
    for (const rec of this.#nodes.values()) {
      if (rec.runtime) this.#flushCounters(rec, rec.runtime);
      if (!rec.statsDirty) continue;
      rec.statsDirty = false;
      this.#emit({ type: 'node_stats', node: rec.id, stats: { ...rec.stats } });
    }
  }

  #flushCounters(rec: NodeRecord, runtime: NodeRuntime<unknown>): void {
    const counters = runtime.counters();
    const dropped = counters.packets_dropped ?? 0;
    const before = rec.stats.packets_dropped ?? 0;
    if (dropped > before) {
      this.#metrics.incCounter(
        PACKETS_DROPPED_COUNTER,
        { session: this.session, node: rec.id },
        dropped - before,
      );
    }
    let changed = false;
    for (const [k, v] of Object.entries(counters)) {
      if (rec.stats[k] !== v) {
        rec.stats[k] = v;
        changed = true;
      }
    }
    if (changed) this.#markStats(rec);
  }

  #viewData(rec: NodeRecord, data: unknown, cause: ViewDataCause): void {
    if (this.#nodes.get(rec.id) !== rec) return;
    // S4: the vector as of now; S5: layout-caused data is marked so no client suppresses it.
    this.#emit({
      type: 'node_view_data',
      node: rec.id,
      data,
      stamp: stampViewData(rec.vector, cause),
    });
  }

  // ---------------------------------------------------------------- lifecycle bookkeeping

  /** E1: refuses (logs and counts) illegal transitions; keeps the gauge one-hot (E13). */
  #setState(rec: NodeRecord, next: NodeState): boolean {
    const prev = rec.state.status;
    if (!canTransition(prev, next.status)) {
      this.#log.warn({ node: rec.id, from: prev, to: next.status }, 'illegal transition refused');
      this.#metrics.incCounter(ILLEGAL_TRANSITIONS_COUNTER, {
        session: this.session,
        node: rec.id,
      });
      return false;
    }
    rec.state = next;
    if (prev !== next.status) {
      this.#gauge(rec, prev, 0);
      this.#gauge(rec, next.status, 1);
    }
    this.#emit({ type: 'node_state', node: rec.id, kind: rec.kind, state: next });
    return true;
  }

  #gauge(rec: NodeRecord, state: NodeStatus, value: 0 | 1): void {
    this.#metrics.setGauge(
      NODE_STATE_GAUGE,
      { session: this.session, node: rec.id, kind: rec.kind, state },
      value,
    );
  }

  // ---------------------------------------------------------------- batches

  #validateBatch(ops: readonly unknown[]): { problems: Problem[]; parsed: GraphOp[] } {
    const problems: Problem[] = [];
    const parsed: GraphOp[] = [];
    if (this.#shutDown)
      return {
        problems: [problem('engine_shut_down', 'the session engine has shut down')],
        parsed,
      };
    if (!Array.isArray(ops))
      return { problems: [problem('bad_request', 'a batch is a list of ops')], parsed };
    // Simulate on copies: node ids with pins and status, connection keys, family counters.
    const nodes = new Map<
      string,
      { pins: NodePins; status: NodeStatus; familyNext: Map<string, number> }
    >();
    for (const r of this.#nodes.values()) {
      nodes.set(r.id, { pins: r.pins, status: r.state.status, familyNext: new Map(r.familyNext) });
    }
    const conns = new Map<string, Connection>();
    for (const [k, c] of this.#connections) conns.set(k, c.connection);
    ops.forEach((raw, index) => {
      const at = `op ${index}`;
      const p = GraphOpSchema.safeParse(raw);
      if (!p.success) {
        problems.push({
          ...badRequest(p.error.issues),
          message: `${at}: ${badRequest(p.error.issues).message}`,
        });
        return;
      }
      const op = p.data;
      parsed.push(op);
      switch (op.op) {
        case 'add_node': {
          if (nodes.has(op.id)) {
            problems.push(problem('duplicate_node', `${at}: node ${op.id} already exists`, op.id));
            return;
          }
          const c = this.#checkAdd(op.id, op.kind, op.params);
          if (!c.ok) {
            problems.push({ ...c.error, message: `${at}: ${c.error.message}` });
            return;
          }
          nodes.set(op.id, { pins: c.value.pins, status: 'creating', familyNext: new Map() });
          return;
        }
        case 'remove_node': {
          if (!nodes.delete(op.id)) {
            problems.push(problem('unknown_node', `${at}: node ${op.id} does not exist`, op.id));
            return;
          }
          for (const [k, c] of [...conns])
            if (c.from.node === op.id || c.to.node === op.id) conns.delete(k);
          return;
        }
        case 'connect': {
          const r = this.#resolveConnect(
            op.from,
            op.to,
            op.mode,
            nodes,
            (ep) => [...conns.values()].some((c) => c.to.node === ep.node && c.to.pin === ep.pin),
            (key) => conns.has(key),
          );
          if (!r.ok) {
            problems.push({ ...r.error, message: `${at}: ${r.error.message}` });
            return;
          }
          const dst = nodes.get(r.value.to.node)!;
          bumpFamily(dst.pins.inputs, dst.familyNext, r.value.to.pin);
          conns.set(connectionId(r.value), r.value);
          return;
        }
        case 'disconnect': {
          const key = connectionId(op);
          if (!conns.delete(key))
            problems.push(
              problem('unknown_connection', `${at}: ${key} does not exist`, op.to.node),
            );
          return;
        }
        case 'tune': {
          if (!nodes.has(op.id)) {
            problems.push(
              problem('unknown_node', `${at}: tune: node ${op.id} does not exist`, op.id),
            );
            return;
          }
          const live = this.#nodes.get(op.id);
          if (live) {
            const m = this.#registry.parseParams(live.def, { ...live.params, ...op.params });
            if (!m.ok)
              problems.push(problem('bad_params', `${at}: node ${op.id}: ${m.error}`, op.id));
            const refused = m.ok ? this.#checkPaths(op.id, live.def, m.value) : undefined;
            if (refused) problems.push({ ...refused, message: `${at}: ${refused.message}` });
          }
          return;
        }
        default: {
          const never: never = op;
          throw new Error(`unhandled op ${JSON.stringify(never)}`);
        }
      }
    });
    return { problems, parsed };
  }
}

const STOP_REASONS = new Set([
  'completed',
  'input_closed',
  'output_closed',
  'shutdown',
  'no_inputs',
]);
type StopReasonName = 'completed' | 'input_closed' | 'output_closed' | 'shutdown' | 'no_inputs';

function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

function badRequest(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): Problem {
  const issue = issues[0];
  const path = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  return problem('bad_request', `${path}${issue?.message ?? 'invalid request'}`);
}

/** The pin a connect uses when it names none: the conventional name, or the only pin. */
function defaultPin(pins: readonly PinSpec[], conventional: string): string | undefined {
  const statics = pins.filter((p) => !p.family);
  if (statics.some((p) => p.name === conventional)) return conventional;
  if (statics.length === 1 && pins.length === 1) return statics[0]!.name;
  return undefined;
}

function bumpFamily(pins: readonly PinSpec[], next: Map<string, number>, pin: string): void {
  const spec = findPin(pins, pin);
  const index = familyIndex(pin);
  if (!spec?.family || index === undefined) return;
  next.set(spec.name, Math.max(next.get(spec.name) ?? 0, index + 1));
}

/** Without a host sandbox: relative paths only, no `..` segments, no NUL. */
function defaultPathCheck(path: string): string | undefined {
  if (path.includes('\0')) return 'a path may not contain NUL';
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path))
    return 'absolute paths are refused';
  if (path.split(/[\\/]/).includes('..')) return 'paths may not leave the data directory (..)';
  return undefined;
}
