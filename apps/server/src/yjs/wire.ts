/**
 * The y-websocket wire protocol (binary frames: varUint message type, then its payload), read
 * defensively: every inbound frame is decoded completely and checked before anything touches a
 * document, so a malformed frame is a value, never a half-applied update.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { ErrorCode, err, ok, problem } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';

export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;
export const SyncMessageType = { step1: 0, step2: 1, update: 2 } as const;
const AUTH_PERMISSION_DENIED = 0;

/** One awareness entry as sent: `state` is JSON text, `null` when the client left. */
export interface AwarenessEntry {
  readonly clientID: number;
  readonly clock: number;
  readonly state: Record<string, unknown> | null;
}

export type InboundFrame =
  | { readonly type: 'sync_step1'; readonly stateVector: Uint8Array }
  | { readonly type: 'sync_step2'; readonly update: Uint8Array; readonly empty: boolean }
  | { readonly type: 'sync_update'; readonly update: Uint8Array; readonly empty: boolean }
  | { readonly type: 'awareness'; readonly entries: readonly AwarenessEntry[] }
  | { readonly type: 'query_awareness' };

const malformed = (what: string) => err(problem(ErrorCode.bad_message, what));

/**
 * Tells parseFrame which awareness entries the caller will ignore: those are checked for shape
 * (lengths within the frame) but their state is not parsed, and they are left out of the
 * result. The stock client echoes every awareness entry it receives, so in a room of n clients
 * most entries that arrive are echoes of states the room already has.
 */
export type SkipAwarenessEntry = (clientID: number, clock: number) => boolean;

/** Decodes and checks one inbound frame; bad_message for anything malformed or unknown. */
export function parseFrame(
  bytes: Uint8Array,
  skipAwareness?: SkipAwarenessEntry,
): Result<InboundFrame> {
  try {
    const decoder = decoding.createDecoder(bytes);
    const type = decoding.readVarUint(decoder);
    let frame: InboundFrame;
    switch (type) {
      case MessageType.sync: {
        const syncType = decoding.readVarUint(decoder);
        const payload = decoding.readVarUint8Array(decoder);
        if (syncType === SyncMessageType.step1) {
          Y.decodeStateVector(payload);
          frame = { type: 'sync_step1', stateVector: payload };
        } else if (syncType === SyncMessageType.step2 || syncType === SyncMessageType.update) {
          // A full decode (structs and delete set) before applyUpdate: Yjs integrates structs
          // before it reads the delete set, so a bad tail would otherwise leave half an update.
          const decoded = Y.decodeUpdate(payload);
          const empty = decoded.structs.length === 0 && decoded.ds.clients.size === 0;
          frame = {
            type: syncType === SyncMessageType.step2 ? 'sync_step2' : 'sync_update',
            update: payload,
            empty,
          };
        } else return malformed(`unknown sync message type ${syncType}`);
        break;
      }
      case MessageType.awareness: {
        const entries = parseAwarenessUpdate(decoding.readVarUint8Array(decoder), skipAwareness);
        if (!entries.ok) return entries;
        frame = { type: 'awareness', entries: entries.value };
        break;
      }
      case MessageType.queryAwareness:
        frame = { type: 'query_awareness' };
        break;
      default:
        return malformed(`unknown message type ${type}`);
    }
    if (decoding.hasContent(decoder)) return malformed('trailing bytes after the message');
    return ok(frame);
  } catch {
    return malformed('malformed frame');
  }
}

/**
 * The deepest nesting accepted in an awareness state. JSON.parse takes far deeper input, but
 * JSON.stringify (to relay the state) and recursive consumers in clients overflow the stack.
 */
export const MAX_AWARENESS_NESTING_DEPTH = 32;

/** Nesting depth of a parsed JSON value, walked without recursion. */
function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) max = depth + 1;
    if (max > MAX_AWARENESS_NESTING_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

function parseAwarenessUpdate(
  update: Uint8Array,
  skip: SkipAwarenessEntry | undefined,
): Result<AwarenessEntry[]> {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientID = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    if (!Number.isSafeInteger(clientID) || !Number.isSafeInteger(clock)) {
      return malformed('awareness client id or clock out of range');
    }
    if (skip?.(clientID, clock)) {
      const length = decoding.readVarUint(decoder);
      if (length > update.length - decoder.pos) return malformed('awareness state past the end');
      decoder.pos += length;
      continue;
    }
    const text = decoding.readVarString(decoder);
    const state: unknown = JSON.parse(text);
    if (state !== null && (typeof state !== 'object' || Array.isArray(state))) {
      return malformed('an awareness state must be an object or null');
    }
    if (nestingDepth(state) > MAX_AWARENESS_NESTING_DEPTH) {
      return malformed('an awareness state is nested too deeply');
    }
    entries.push({ clientID, clock, state: state as Record<string, unknown> | null });
  }
  if (decoding.hasContent(decoder)) return malformed('trailing bytes after the awareness update');
  return ok(entries);
}

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.sync);
  encoding.writeVarUint(e, SyncMessageType.step1);
  encoding.writeVarUint8Array(e, Y.encodeStateVector(doc));
  return encoding.toUint8Array(e);
}

/** Step 2: what `doc` has beyond the peer's state vector. */
export function encodeSyncStep2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.sync);
  encoding.writeVarUint(e, SyncMessageType.step2);
  encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc, stateVector));
  return encoding.toUint8Array(e);
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.sync);
  encoding.writeVarUint(e, SyncMessageType.update);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

/** An awareness update (the payload y-protocols' applyAwarenessUpdate reads). */
export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(e, entry.clientID);
    encoding.writeVarUint(e, entry.clock);
    encoding.writeVarString(e, JSON.stringify(entry.state));
  }
  return encoding.toUint8Array(e);
}

/** Wraps an encoded awareness update (y-protocols' encodeAwarenessUpdate) as a message. */
export function encodeAwarenessMessage(awarenessUpdate: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.awareness);
  encoding.writeVarUint8Array(e, awarenessUpdate);
  return encoding.toUint8Array(e);
}

export function encodePermissionDenied(reason: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.auth);
  encoding.writeVarUint(e, AUTH_PERMISSION_DENIED);
  encoding.writeVarString(e, reason);
  return encoding.toUint8Array(e);
}
