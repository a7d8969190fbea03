import { readPipeline } from '@patchbay/document';
import type { ControlEvent, Pipeline, ViewStamp } from '@patchbay/protocol';
import { useEffect, useMemo, useReducer, useRef, useState, useSyncExternalStore } from 'react';
import { EMPTY_RUNTIME, applyEvent } from '../monitor/runtime-state';
import type { RuntimeState } from '../monitor/runtime-state';
import { showToast } from '../ui/toasts';
import type { ControlClient, ControlError, LinkStatus } from './control-client';
import { peekEarly, takeEarly } from './early-connection';
import { SessionConnection } from './session-connection';
import type { PresenceState } from './session-connection';

/** The session's connection, made on mount and destroyed on unmount. */
export function useSessionConnection(sessionId: string): SessionConnection | undefined {
  // The page load's early connection draws on the first render, not after an effect.
  const [conn, setConn] = useState<SessionConnection | undefined>(() => peekEarly(sessionId));
  useEffect(() => {
    const c = takeEarly(sessionId) ?? new SessionConnection({ sessionId });
    setConn(c);
    return () => {
      c.destroy();
      setConn(undefined);
    };
  }, [sessionId]);
  return conn;
}

/**
 * Re-renders on `subscribe`'s notifications. The snapshot is a version the connection keeps
 * itself, so a change between the render and the subscription is not missed (the connection
 * may be older than the view: a page load opens it before the first render).
 */
function useVersion(
  subscribe: ((l: () => void) => () => void) | undefined,
  version: () => number,
): number {
  const sub = useMemo(() => subscribe ?? (() => () => {}), [subscribe]);
  return useSyncExternalStore(sub, version);
}

/** Link status, sync and undo availability of a connection. */
export function useConnectionState(conn: SessionConnection | undefined): {
  status: LinkStatus;
  synced: boolean;
  canUndo: boolean;
  canRedo: boolean;
} {
  const subscribe = useMemo(
    () => (conn ? (l: () => void) => conn.subscribe(l) : undefined),
    [conn],
  );
  useVersion(subscribe, () => conn?.version ?? 0);
  return {
    status: conn?.status ?? 'connecting',
    synced: conn?.synced ?? false,
    canUndo: (conn?.undo.undoStack.length ?? 0) > 0,
    canRedo: (conn?.undo.redoStack.length ?? 0) > 0,
  };
}

/** The status of the control link. */
export function useControlStatus(control: ControlClient): LinkStatus {
  return useSyncExternalStore(
    (l) => control.onStatus(l),
    () => control.status,
  );
}

/** The pipeline the shared document holds, re-read on every document change. */
export function usePipeline(conn: SessionConnection | undefined): Pipeline {
  const subscribe = useMemo(
    () =>
      conn
        ? (l: () => void) => {
            conn.doc.on('update', l);
            return () => conn.doc.off('update', l);
          }
        : undefined,
    [conn],
  );
  const version = useVersion(subscribe, () => conn?.docVersion ?? 0);
  return useMemo(
    () => (conn ? readPipeline(conn.doc) : { mode: 'dynamic', nodes: {}, connections: {} }),
    [conn, version],
  );
}

/** Other tabs' presence in this session. */
export function usePeers(conn: SessionConnection | undefined): Map<number, PresenceState> {
  const subscribe = useMemo(
    () =>
      conn
        ? (l: () => void) => {
            conn.provider.awareness.on('change', l);
            return () => conn.provider.awareness.off('change', l);
          }
        : undefined,
    [conn],
  );
  const version = useVersion(subscribe, () => conn?.presenceVersion ?? 0);
  return useMemo(() => conn?.peers() ?? new Map(), [conn, version]);
}

type RuntimeAction =
  { kind: 'event'; apply: (s: RuntimeState) => RuntimeState } | { kind: 'reset' };

/**
 * The session's runtime (states, stats, runs, view data) from control events. View data this
 * tab is ahead of is dropped (S6) by `isStale`; the server's refusals of this user's edits are
 * shown on the node they name, else as a toast.
 */
export function useRuntime(
  control: ControlClient,
  sessionId: string,
  isStale: (node: string, stamp: ViewStamp) => boolean,
): RuntimeState {
  const [state, dispatch] = useReducer(
    (s: RuntimeState, a: RuntimeAction) => (a.kind === 'reset' ? EMPTY_RUNTIME : a.apply(s)),
    EMPTY_RUNTIME,
  );
  const stale = useRef(isStale);
  stale.current = isStale;
  useEffect(() => {
    // Events that arrive together (a subscribe replays every node's state and stats) fold in
    // one update and one render, not one render each.
    let batch: ControlEvent[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      flushTimer = undefined;
      const events = batch;
      batch = [];
      const accept = (node: string, stamp: ViewStamp) => !stale.current(node, stamp);
      dispatch({
        kind: 'event',
        apply: (s) => events.reduce((acc, e) => applyEvent(acc, e, sessionId, accept), s),
      });
    };
    const offEvent = control.onEvent((e) => {
      batch.push(e);
      flushTimer ??= setTimeout(flush, 0);
    });
    const offError = control.onError((e: ControlError) => {
      // Events that came before this error are folded first, so a later `creating` cannot
      // clear the error it shows.
      if (flushTimer !== undefined) {
        clearTimeout(flushTimer);
        flush();
      }
      showToast('error', e.message, e.code);
      const nodes = new Map<string, string>();
      if (e.node) nodes.set(e.node, e.message);
      for (const p of e.problems ?? []) if (p.node) nodes.set(p.node, p.message);
      if (nodes.size > 0) {
        dispatch({
          kind: 'event',
          apply: (s) => ({ ...s, nodeErrors: { ...s.nodeErrors, ...Object.fromEntries(nodes) } }),
        });
      }
    });
    // The subscription (renewed on every reconnect) replays every node's state, the latest
    // stats and view data as events, so the fold above sees the current picture.
    const unwatch = control.watch(sessionId);
    return () => {
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      offEvent();
      offError();
      unwatch();
      dispatch({ kind: 'reset' });
    };
  }, [control, sessionId]);
  return state;
}
