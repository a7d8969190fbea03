/**
 * The `/api/v1/control` WebSocket protocol: a JSON envelope `{type, id?, payload}` carrying
 * requests (client → server), responses (`ok` / `error`, echoing the request's id) and events
 * (server → every subscribed client). Every frame is validated here; a bad frame becomes an
 * `error` response and the connection stays up.
 */
import { z } from 'zod';
import { ErrorCode, assertNever, err, ok } from './errors';
import type { Problem, Result } from './errors';
import { NodeStateSchema } from './node-state';
import {
  AddNodeOpSchema,
  ConnectOpSchema,
  DisconnectOpSchema,
  GraphOpSchema,
  RemoveNodeOpSchema,
  TuneOpSchema,
} from './ops';
import type { GraphOp } from './ops';
import { ConnectionSchema, EndpointSchema, NodeIdSchema, PipelineSchema } from './pipeline';
import { ViewStampSchema } from './stamping';

/** The largest control frame accepted, in bytes (UTF-8): larger frames get `frame_too_large`. */
export const MAX_CONTROL_FRAME_BYTES = 1024 * 1024;

/**
 * The deepest nesting of arrays/objects accepted in a frame. `JSON.parse` takes far deeper
 * input, but recursive consumers downstream (`JSON.stringify`, Yjs, loggers) overflow the stack.
 */
export const MAX_CONTROL_NESTING_DEPTH = 64;

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** A session id: URL-safe (it appears in `/s/:sessionId` and `/yjs/:sessionId`). */
export const SessionIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'session ids use letters, digits, _ and -');

/** A demand run's id (X5), as returned by `demand`. */
export const RunIdSchema = z.string().min(1).max(128);

/** A request's correlation id, echoed by its response. */
export const RequestIdSchema = z.union([
  z.string().min(1).max(128),
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
]);
export type RequestId = z.infer<typeof RequestIdSchema>;

/** Any `ErrorCode` (errors.ts). */
export const ErrorCodeSchema = z.enum(ErrorCode);

/** Wire form of a `Problem`. */
export const ProblemSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  node: z.string().optional(),
});

/** What the session list and `create_session` report about a session. */
export const SessionInfoSchema = z.object({ id: SessionIdSchema, name: z.string() });
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

/** Pipeline formats of `get_pipeline` (and `GET …/pipeline?format=`). */
export const PipelineFormatSchema = z.enum(['yaml', 'json']);
export type PipelineFormat = z.infer<typeof PipelineFormatSchema>;

// ---------------------------------------------------------------------------------------------
// Requests (payload.type)

const session = { session: SessionIdSchema };

/** `add_node`: the fields of an `add_node` graph op, in a session. */
export const AddNodeRequestSchema = AddNodeOpSchema.omit({ op: true }).extend({
  type: z.literal('add_node'),
  ...session,
});
/** `remove_node`: the fields of a `remove_node` graph op, in a session. */
export const RemoveNodeRequestSchema = RemoveNodeOpSchema.omit({ op: true }).extend({
  type: z.literal('remove_node'),
  ...session,
});
/** `connect`: the fields of a `connect` graph op; the response carries the resolved pins. */
export const ConnectRequestSchema = ConnectOpSchema.omit({ op: true }).extend({
  type: z.literal('connect'),
  ...session,
});
/** `disconnect`: the fields of a `disconnect` graph op, in a session. */
export const DisconnectRequestSchema = DisconnectOpSchema.omit({ op: true }).extend({
  type: z.literal('disconnect'),
  ...session,
});
/** `tune`: a partial params update (E8), optionally stamped (S2). */
export const TuneRequestSchema = TuneOpSchema.omit({ op: true }).extend({
  type: z.literal('tune'),
  ...session,
});
/** `validate_batch`: report every problem of `ops` without applying them (E15). */
export const ValidateBatchRequestSchema = z.object({
  type: z.literal('validate_batch'),
  ...session,
  ops: z.array(GraphOpSchema),
});
/** `apply_batch`: apply `ops` all-or-nothing (E15). */
export const ApplyBatchRequestSchema = z.object({
  type: z.literal('apply_batch'),
  ...session,
  ops: z.array(GraphOpSchema),
});
/** `demand`: run `node` and what it needs (X5); answers at once with a run id. */
export const DemandRequestSchema = z.object({
  type: z.literal('demand'),
  ...session,
  node: NodeIdSchema,
});
/** `cancel`: stop a demand run at once (X5). */
export const CancelRequestSchema = z.object({
  type: z.literal('cancel'),
  ...session,
  run: RunIdSchema,
});
/** `answer`: the value a waiting `human::input` node of a run returns (X3). */
export const AnswerRequestSchema = z.object({
  type: z.literal('answer'),
  ...session,
  run: RunIdSchema,
  node: NodeIdSchema,
  value: z.unknown(),
});
/** `subscribe`: receive the session's events on this connection. */
export const SubscribeRequestSchema = z.object({ type: z.literal('subscribe'), ...session });
/** `unsubscribe`: stop receiving the session's events. */
export const UnsubscribeRequestSchema = z.object({ type: z.literal('unsubscribe'), ...session });
/** `list_sessions`: every session. */
export const ListSessionsRequestSchema = z.object({ type: z.literal('list_sessions') });
/** `create_session`: a new session, empty or from YAML. */
export const CreateSessionRequestSchema = z.object({
  type: z.literal('create_session'),
  name: z.string().max(256).optional(),
  yaml: z.string().optional(),
});
/** `delete_session`: stop and delete a session. */
export const DeleteSessionRequestSchema = z.object({
  type: z.literal('delete_session'),
  ...session,
});
/** `get_pipeline`: the durable pipeline (S3: no transient metadata), as YAML (default) or JSON. */
export const GetPipelineRequestSchema = z.object({
  type: z.literal('get_pipeline'),
  ...session,
  format: PipelineFormatSchema.default('yaml'),
});

/** Every request payload, discriminated by `type`. */
export const ControlRequestSchema = z.discriminatedUnion('type', [
  AddNodeRequestSchema,
  RemoveNodeRequestSchema,
  ConnectRequestSchema,
  DisconnectRequestSchema,
  TuneRequestSchema,
  ValidateBatchRequestSchema,
  ApplyBatchRequestSchema,
  DemandRequestSchema,
  CancelRequestSchema,
  AnswerRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  ListSessionsRequestSchema,
  CreateSessionRequestSchema,
  DeleteSessionRequestSchema,
  GetPipelineRequestSchema,
]);
export type ControlRequest = z.infer<typeof ControlRequestSchema>;
/** A request as a client writes it (defaults such as `params: {}` may be left out). */
export type ControlRequestInput = z.input<typeof ControlRequestSchema>;
export type ControlRequestType = ControlRequest['type'];
export type AddNodeRequest = z.infer<typeof AddNodeRequestSchema>;
export type RemoveNodeRequest = z.infer<typeof RemoveNodeRequestSchema>;
export type ConnectRequest = z.infer<typeof ConnectRequestSchema>;
export type DisconnectRequest = z.infer<typeof DisconnectRequestSchema>;
export type TuneRequest = z.infer<typeof TuneRequestSchema>;
export type ValidateBatchRequest = z.infer<typeof ValidateBatchRequestSchema>;
export type ApplyBatchRequest = z.infer<typeof ApplyBatchRequestSchema>;
export type DemandRequest = z.infer<typeof DemandRequestSchema>;
export type CancelRequest = z.infer<typeof CancelRequestSchema>;
export type AnswerRequest = z.infer<typeof AnswerRequestSchema>;
export type SubscribeRequest = z.infer<typeof SubscribeRequestSchema>;
export type UnsubscribeRequest = z.infer<typeof UnsubscribeRequestSchema>;
export type ListSessionsRequest = z.infer<typeof ListSessionsRequestSchema>;
export type CreateSessionRequest = z.infer<typeof CreateSessionRequestSchema>;
export type DeleteSessionRequest = z.infer<typeof DeleteSessionRequestSchema>;
export type GetPipelineRequest = z.infer<typeof GetPipelineRequestSchema>;

/** Every request type, in schema order. */
export const CONTROL_REQUEST_TYPES: readonly ControlRequestType[] =
  ControlRequestSchema.options.map((o) => o.shape.type.value);

/** The requests that are single graph operations (add/remove node, connect, disconnect, tune). */
export type GraphOpRequest =
  AddNodeRequest | RemoveNodeRequest | ConnectRequest | DisconnectRequest | TuneRequest;

/** Is `req` a single graph operation? */
export function isGraphOpRequest(req: ControlRequest): req is GraphOpRequest {
  return (
    req.type === 'add_node' ||
    req.type === 'remove_node' ||
    req.type === 'connect' ||
    req.type === 'disconnect' ||
    req.type === 'tune'
  );
}

/** The engine graph op a single-op request stands for (the `session` is the caller's routing). */
export function graphOpOfRequest(req: GraphOpRequest): GraphOp {
  switch (req.type) {
    case 'add_node': {
      const { type: _t, session: _s, ...rest } = req;
      return { op: 'add_node', ...rest };
    }
    case 'remove_node':
      return { op: 'remove_node', id: req.id };
    case 'connect': {
      const { type: _t, session: _s, ...rest } = req;
      return { op: 'connect', ...rest };
    }
    case 'disconnect':
      return { op: 'disconnect', from: req.from, to: req.to };
    case 'tune': {
      const { type: _t, session: _s, ...rest } = req;
      return { op: 'tune', ...rest };
    }
    default:
      return assertNever(req, 'graph op request');
  }
}

/** The session a request addresses, or undefined for `list_sessions` / `create_session`. */
export function requestSession(req: ControlRequest): string | undefined {
  return 'session' in req ? req.session : undefined;
}

// ---------------------------------------------------------------------------------------------
// Responses (payload.type: ok | error)

/** `ok`: the request succeeded; `result` as given by `ControlResultSchemas` for its type. */
export const OkPayloadSchema = z.object({ type: z.literal('ok'), result: z.unknown().optional() });
export type OkPayload = z.infer<typeof OkPayloadSchema>;

/** `error`: a stable code, a message, the node concerned, and for batches every problem. */
export const ErrorPayloadSchema = z.object({
  type: z.literal('error'),
  code: ErrorCodeSchema,
  message: z.string(),
  node: z.string().optional(),
  problems: z.array(ProblemSchema).optional(),
});
export type ErrorPayload = z.infer<typeof ErrorPayloadSchema>;

/** A response payload: `ok` or `error`. */
export const ControlResponsePayloadSchema = z.discriminatedUnion('type', [
  OkPayloadSchema,
  ErrorPayloadSchema,
]);
export type ControlResponsePayload = z.infer<typeof ControlResponsePayloadSchema>;

/** `connect` result: the connection as made, with the pins the engine resolved or allocated. */
export const ConnectResultSchema = ConnectionSchema;
/** `validate_batch` result: every problem found; empty when the batch would apply. */
export const ValidateBatchResultSchema = z.object({ problems: z.array(ProblemSchema) });
/** `demand` result: the run's id; its progress arrives as run events (X5). */
export const DemandResultSchema = z.object({ run: RunIdSchema });
/** `list_sessions` result. */
export const ListSessionsResultSchema = z.object({ sessions: z.array(SessionInfoSchema) });
/** `get_pipeline` result: YAML text or the pipeline object. */
export const GetPipelineResultSchema = z.discriminatedUnion('format', [
  z.object({ format: z.literal('yaml'), yaml: z.string() }),
  z.object({ format: z.literal('json'), pipeline: PipelineSchema }),
]);
/** `subscribe` result: optionally, every node's current state, so a client needs no replay. */
export const SubscribeResultSchema = z
  .object({ states: z.record(NodeIdSchema, NodeStateSchema) })
  .optional();

/** The `ok` result schema of each request type (`z.undefined()`: no result). */
export const ControlResultSchemas = {
  add_node: z.undefined(),
  remove_node: z.undefined(),
  connect: ConnectResultSchema,
  disconnect: z.undefined(),
  tune: z.undefined(),
  validate_batch: ValidateBatchResultSchema,
  apply_batch: z.undefined(),
  demand: DemandResultSchema,
  cancel: z.undefined(),
  answer: z.undefined(),
  subscribe: SubscribeResultSchema,
  unsubscribe: z.undefined(),
  list_sessions: ListSessionsResultSchema,
  create_session: SessionInfoSchema,
  delete_session: z.undefined(),
  get_pipeline: GetPipelineResultSchema,
} as const satisfies Record<ControlRequestType, z.ZodType>;
/** The `ok` result of a request of type `T`. */
export type ControlResult<T extends ControlRequestType> = z.infer<(typeof ControlResultSchemas)[T]>;

/** Check an `ok` result against the schema of the request type it answers. */
export function parseControlResult<T extends ControlRequestType>(
  type: T,
  result: unknown,
): Result<ControlResult<T>, Problem> {
  const parsed = ControlResultSchemas[type].safeParse(result);
  if (parsed.success) return ok(parsed.data as ControlResult<T>);
  return err(describeIssues('bad_message', parsed.error.issues, 'result'));
}

// ---------------------------------------------------------------------------------------------
// Events (payload.type)

const inSession = { session: SessionIdSchema };
const onNode = { ...inSession, node: NodeIdSchema };
const inRun = { ...inSession, run: RunIdSchema };

/** E12: every lifecycle transition, in order. */
export const NodeStateEventSchema = z.object({
  type: z.literal('node_state'),
  ...onNode,
  state: NodeStateSchema,
});
/** E4: a node left the session (also while it was still creating). */
export const NodeRemovedEventSchema = z.object({ type: z.literal('node_removed'), ...onNode });
/** E12: the node's counters (coalesced, latest wins). */
export const NodeStatsEventSchema = z.object({
  type: z.literal('node_stats'),
  ...onNode,
  stats: z.record(z.string(), z.number()),
});
/** S4–S6: data computed from a node's params (e.g. a compositor's resolved layout), stamped. */
export const NodeViewDataEventSchema = z.object({
  type: z.literal('node_view_data'),
  ...onNode,
  data: z.unknown(),
  stamp: ViewStampSchema,
});
/** E7: the engine dropped or refused a connection; the shared model drops it too. */
export const ConnectionRemovedEventSchema = z.object({
  type: z.literal('connection_removed'),
  ...inSession,
  from: EndpointSchema,
  to: EndpointSchema,
  reason: z.string(),
});
/** X5: a chunk (e.g. generated tokens) streamed by a node during a run. */
export const NodeStreamEventSchema = z.object({
  type: z.literal('node_stream'),
  ...inRun,
  node: NodeIdSchema,
  chunk: z.string(),
});
/** X5: a demand run of `node` began. */
export const RunStartedEventSchema = z.object({
  type: z.literal('run_started'),
  ...inRun,
  node: NodeIdSchema,
});
/** X5: the run finished; `output` is the demanded node's output. */
export const RunCompletedEventSchema = z.object({
  type: z.literal('run_completed'),
  ...inRun,
  output: z.unknown().optional(),
});
/** X5: the run failed; `node` is the node that failed, when one did, `code` why. */
export const RunFailedEventSchema = z.object({
  type: z.literal('run_failed'),
  ...inRun,
  reason: z.string(),
  node: NodeIdSchema.optional(),
  code: ErrorCodeSchema.optional(),
});
/** X5: the run was cancelled. */
export const RunCancelledEventSchema = z.object({ type: z.literal('run_cancelled'), ...inRun });
/** X5: one node of a run began. */
export const NodeRunStartedEventSchema = z.object({
  type: z.literal('node_run_started'),
  ...inRun,
  node: NodeIdSchema,
});
/** X5/X6: one node of a run finished; `cached` when its output was reused. */
export const NodeRunCompletedEventSchema = z.object({
  type: z.literal('node_run_completed'),
  ...inRun,
  node: NodeIdSchema,
  output: z.unknown().optional(),
  cached: z.boolean().optional(),
});
/** X5: one node of a run failed. */
export const NodeRunFailedEventSchema = z.object({
  type: z.literal('node_run_failed'),
  ...inRun,
  node: NodeIdSchema,
  reason: z.string(),
  code: ErrorCodeSchema.optional(),
});
/** X5: one node of a run was cancelled (e.g. mid-generation). */
export const NodeRunCancelledEventSchema = z.object({
  type: z.literal('node_run_cancelled'),
  ...inRun,
  node: NodeIdSchema,
});
/** X3: a node of a run was not run: a `flow::conditional` upstream pruned its branch. */
export const NodeRunSkippedEventSchema = z.object({
  type: z.literal('node_run_skipped'),
  ...inRun,
  node: NodeIdSchema,
});
/** X4: progress of slow work inside a node of a run (loading a model), `fraction` in [0, 1]. */
export const NodeRunProgressEventSchema = z.object({
  type: z.literal('node_run_progress'),
  ...inRun,
  node: NodeIdSchema,
  fraction: z.number().min(0).max(1),
  label: z.string().optional(),
});
/** X3: a `human::input` node of a run waits for an `answer` request. */
export const NodeRunWaitingEventSchema = z.object({
  type: z.literal('node_run_waiting'),
  ...inRun,
  node: NodeIdSchema,
  prompt: z.string(),
});
/** A session was created. */
export const SessionCreatedEventSchema = z.object({
  type: z.literal('session_created'),
  ...inSession,
  name: z.string(),
});
/** A session was deleted. */
export const SessionDeletedEventSchema = z.object({
  type: z.literal('session_deleted'),
  ...inSession,
});

/** Every event payload, discriminated by `type`. */
export const ControlEventSchema = z.discriminatedUnion('type', [
  NodeStateEventSchema,
  NodeRemovedEventSchema,
  NodeStatsEventSchema,
  NodeViewDataEventSchema,
  ConnectionRemovedEventSchema,
  NodeStreamEventSchema,
  RunStartedEventSchema,
  RunCompletedEventSchema,
  RunFailedEventSchema,
  RunCancelledEventSchema,
  NodeRunStartedEventSchema,
  NodeRunCompletedEventSchema,
  NodeRunFailedEventSchema,
  NodeRunCancelledEventSchema,
  NodeRunSkippedEventSchema,
  NodeRunProgressEventSchema,
  NodeRunWaitingEventSchema,
  SessionCreatedEventSchema,
  SessionDeletedEventSchema,
]);
export type ControlEvent = z.infer<typeof ControlEventSchema>;
export type ControlEventType = ControlEvent['type'];
/** The event payload of type `T`. */
export type ControlEventOf<T extends ControlEventType> = Extract<ControlEvent, { type: T }>;

/** Every event type, in schema order. */
export const CONTROL_EVENT_TYPES: readonly ControlEventType[] = ControlEventSchema.options.map(
  (o) => o.shape.type.value,
);

// ---------------------------------------------------------------------------------------------
// Envelopes

/** Client → server frame. */
export const ControlRequestEnvelopeSchema = z.object({
  type: z.literal('request'),
  id: RequestIdSchema.optional(),
  payload: ControlRequestSchema,
});
export type ControlRequestEnvelope = z.infer<typeof ControlRequestEnvelopeSchema>;

/** Server → client answer to one request; `id` echoes the request's. */
export const ControlResponseEnvelopeSchema = z.object({
  type: z.literal('response'),
  id: RequestIdSchema.optional(),
  payload: ControlResponsePayloadSchema,
});
export type ControlResponseEnvelope = z.infer<typeof ControlResponseEnvelopeSchema>;

/** Server → client event. */
export const ControlEventEnvelopeSchema = z.object({
  type: z.literal('event'),
  payload: ControlEventSchema,
});
export type ControlEventEnvelope = z.infer<typeof ControlEventEnvelopeSchema>;

/** Any server → client frame. */
export const ControlServerEnvelopeSchema = z.discriminatedUnion('type', [
  ControlResponseEnvelopeSchema,
  ControlEventEnvelopeSchema,
]);
export type ControlServerEnvelope = z.infer<typeof ControlServerEnvelopeSchema>;

/** A parse failure, with the request id when one could be read (so the error can echo it). */
export interface ControlParseProblem extends Problem {
  id?: RequestId;
}

/** Build a request frame (client side). */
export function controlRequest(
  id: RequestId | undefined,
  payload: ControlRequestInput,
): { type: 'request'; id?: RequestId; payload: ControlRequestInput } {
  return id === undefined ? { type: 'request', payload } : { type: 'request', id, payload };
}

/** Build an `ok` response to request `id`, with an optional result. */
export function okResponse(id: RequestId | undefined, value?: unknown): ControlResponseEnvelope {
  const payload: OkPayload = value === undefined ? { type: 'ok' } : { type: 'ok', result: value };
  return id === undefined ? { type: 'response', payload } : { type: 'response', id, payload };
}

/** Build an `error` response to request `id` from a problem (and, for batches, every problem). */
export function errorResponse(
  id: RequestId | undefined,
  problem: Problem & { problems?: readonly Problem[] },
): ControlResponseEnvelope {
  const payload: ErrorPayload = { type: 'error', code: problem.code, message: problem.message };
  if (problem.node !== undefined) payload.node = problem.node;
  if (problem.problems !== undefined) payload.problems = problem.problems.map(plainProblem);
  return id === undefined ? { type: 'response', payload } : { type: 'response', id, payload };
}

/** Build an event frame. */
export function event(payload: ControlEvent): ControlEventEnvelope {
  return { type: 'event', payload };
}

/**
 * Parse and validate a client frame (text, or an already-parsed value). Never throws:
 * oversized → `frame_too_large`, not JSON → `bad_message`, wrong shape → `bad_request` naming
 * the first path that failed.
 */
export function parseClientMessage(
  raw: string | unknown,
): Result<ControlRequestEnvelope, ControlParseProblem> {
  return parseFrame(raw, 'request', ControlRequestEnvelopeSchema);
}

/** Parse and validate a server frame (client side). Never throws; same codes as `parseClientMessage`. */
export function parseServerMessage(
  raw: string | unknown,
): Result<ControlServerEnvelope, ControlParseProblem> {
  return parseFrame(raw, 'server', ControlServerEnvelopeSchema);
}

// ---------------------------------------------------------------------------------------------
// Internals

function plainProblem(p: Problem): Problem {
  return p.node === undefined
    ? { code: p.code, message: p.message }
    : { code: p.code, message: p.message, node: p.node };
}

function parseFrame<T>(
  raw: unknown,
  side: 'request' | 'server',
  schema: z.ZodType<T>,
): Result<T, ControlParseProblem> {
  try {
    let value: unknown = raw;
    if (typeof raw === 'string') {
      if (exceedsUtf8Bytes(raw, MAX_CONTROL_FRAME_BYTES)) return err(tooLarge());
      try {
        value = JSON.parse(raw);
      } catch {
        return err({ code: 'bad_message', message: 'frame is not valid JSON' });
      }
    } else if (raw instanceof ArrayBuffer || ArrayBuffer.isView(raw)) {
      if (raw.byteLength > MAX_CONTROL_FRAME_BYTES) return err(tooLarge());
      return err({
        code: 'bad_message',
        message: 'binary frames are not accepted; send JSON text',
      });
    }
    const id = readId(value);
    if (exceedsDepth(value, MAX_CONTROL_NESTING_DEPTH)) {
      const p: Problem = {
        code: 'bad_request',
        message: `message: nested deeper than ${MAX_CONTROL_NESTING_DEPTH} levels`,
      };
      return err(id === undefined ? p : { ...p, id });
    }
    const fail = (p: Problem): { ok: false; error: ControlParseProblem } =>
      err(id === undefined ? p : { ...p, id });

    if (!isRecord(value)) {
      return fail({
        code: 'bad_request',
        message: 'message: expected an object {type, id?, payload}',
      });
    }
    const expected = side === 'request' ? ['request'] : ['response', 'event'];
    if (typeof value.type !== 'string' || !expected.includes(value.type)) {
      return fail({
        code: 'bad_request',
        message: `type: expected ${expected.map((t) => `'${t}'`).join(' or ')}`,
      });
    }
    const unknownType = unknownPayloadType(value, side);
    if (unknownType !== undefined) return fail({ code: 'bad_request', message: unknownType });

    const parsed = schema.safeParse(value);
    if (parsed.success) return ok(parsed.data);
    return fail(describeIssues('bad_request', parsed.error.issues));
  } catch {
    // Only exotic already-parsed values (throwing getters, proxies) get here; JSON text cannot.
    return err({ code: 'bad_request', message: 'message: unreadable value' });
  }
}

function tooLarge(): Problem {
  return {
    code: 'frame_too_large',
    message: `frame exceeds ${MAX_CONTROL_FRAME_BYTES} bytes`,
  };
}

/** A clearer message than zod's list of every option when `payload.type` is unknown. */
function unknownPayloadType(
  envelope: Record<string, unknown>,
  side: 'request' | 'server',
): string | undefined {
  const payload = envelope.payload;
  if (!isRecord(payload) || typeof payload.type !== 'string') return undefined;
  const known: readonly string[] =
    side === 'request'
      ? CONTROL_REQUEST_TYPES
      : envelope.type === 'event'
        ? CONTROL_EVENT_TYPES
        : ['ok', 'error'];
  if (known.includes(payload.type)) return undefined;
  const what = side === 'request' ? 'request' : envelope.type === 'event' ? 'event' : 'response';
  return `payload.type: unknown ${what} type ${JSON.stringify(payload.type.slice(0, 64))}`;
}

function readId(value: unknown): RequestId | undefined {
  // Events carry no id: skip zod, whose failed parse builds an error object every time.
  if (!isRecord(value) || value.id === undefined) return undefined;
  const parsed = RequestIdSchema.safeParse(value.id);
  return parsed.success ? parsed.data : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeIssues(code: ErrorCode, issues: readonly z.core.$ZodIssue[], root = ''): Problem {
  const first = issues[0];
  if (first === undefined) return { code, message: `${root || 'message'}: invalid` };
  const path = formatPath(root, first.path);
  return { code, message: `${path}: ${first.message}` };
}

/** `payload.ops[2].from.node` */
function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'message' : out;
}

/** Does `value` nest arrays/objects deeper than `limit`? Iterative, so it cannot overflow itself. */
function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (typeof v !== 'object' || v === null) continue;
    // Also bounds a cyclic already-parsed value: a cycle is infinitely deep.
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** UTF-8 length of `s` exceeds `limit`? Stops counting as soon as it does. */
function exceedsUtf8Bytes(s: string, limit: number): boolean {
  // Every UTF-16 unit is at least one byte and at most three.
  if (s.length > limit) return true;
  if (s.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3; // other BMP characters, and lone surrogates (sent as U+FFFD)
    if (bytes > limit) return true;
  }
  return false;
}
