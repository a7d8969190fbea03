/**
 * Types every server module shares: who is connected (identity and role, stamped by the
 * server, never taken from a client), and the metrics and logging roots. The Yjs rooms
 * (`yjs/`), storage (`storage/`), auth (`auth/`), control API (`control/`), HTTP routes
 * (`http/`) and the session bridge (`sessions/`) all take these from `main.ts`.
 */
import type { MetricsSink } from '@patchbay/engine';

export const Role = { admin: 'admin', editor: 'editor', viewer: 'viewer' } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Who a connection or request is, as the server established it. */
export interface Identity {
  /** Stable per user (token), the same across tabs and reconnects. */
  readonly userId: string;
  readonly name: string;
  readonly role: Role;
  /** A CSS colour for presence. */
  readonly color: string;
}

/** Whether a role may change documents and engines. */
export function canWrite(role: Role): boolean {
  return role !== Role.viewer;
}

/**
 * Prometheus-shaped metrics for the whole server. Extends the engine's sink (gauges and
 * counters) with `observe` for latency summaries (e.g. storage append latency).
 */
export interface ServerMetrics extends MetricsSink {
  observe(name: string, labels: Readonly<Record<string, string>>, value: number): void;
}
