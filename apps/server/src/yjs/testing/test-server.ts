/**
 * A real room server for tests: a minimal Hono app with the `/yjs/:sessionId` route on
 * 127.0.0.1 (port 0), SQLite storage in a folder, and a token → identity table for auth
 * (`?token=` on the URL). Plus the stock y-websocket client set up for Node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Context } from 'hono';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { ErrorCode, err, ok, problem } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import { silentLogger } from '@patchbay/engine';
import type { Logger } from '@patchbay/engine';
import type { Identity } from '../../host/server-context';
import { openSqliteStorage } from '../../storage/sqlite-storage';
import type { Storage } from '../../storage/storage';
import { RoomManager } from '../room-manager';
import { createYjsRoute, createYjsWebSocketServer } from '../yjs-route';
import { recordingMetrics } from './recording-metrics';
import type { RecordingMetrics } from './recording-metrics';

/** Tokens every test server knows; `?token=<key>`. A token mapped to 'forbidden' gets 4403. */
export const TEST_IDENTITIES: Readonly<Record<string, Identity | 'forbidden'>> = {
  alice: { userId: 'u-alice', name: 'Alice', role: 'editor', color: '#e11d48' },
  bob: { userId: 'u-bob', name: 'Bob', role: 'editor', color: '#2563eb' },
  admin: { userId: 'u-admin', name: 'Ada', role: 'admin', color: '#16a34a' },
  victor: { userId: 'u-victor', name: 'Victor', role: 'viewer', color: '#9333ea' },
  banned: 'forbidden',
};

export interface TestServerOptions {
  /** Folder for patchbay.db; a fresh temp folder (removed on close) when omitted. */
  readonly dataDir?: string;
  /** Sessions to create if missing. */
  readonly sessions?: readonly string[];
  readonly identities?: Readonly<Record<string, Identity | 'forbidden'>>;
  readonly maxFrameBytes?: number;
  readonly pingIntervalMs?: number;
  /** Default 0: rooms unload as soon as they are unused and flushed. */
  readonly unloadDelayMs?: number;
  readonly awarenessRenewalMaxDelayMs?: number;
  readonly logger?: Logger;
  /** Wraps the storage the rooms use (to inject failures). */
  readonly wrapStorage?: (storage: Storage) => Storage;
  /** Replaces the token table's authentication. */
  readonly authenticate?: (c: Context) => Promise<Result<Identity>>;
  /** Replaces the storage lookup for whether a session exists. */
  readonly sessionExists?: (sessionId: string) => Promise<boolean>;
  /** Sees every metrics observation (e.g. storage latency), for benchmarks. */
  readonly onObserve?: (
    name: string,
    labels: Readonly<Record<string, string>>,
    value: number,
  ) => void;
}

export interface TestServer {
  /** Base URL for WebsocketProvider: `ws://127.0.0.1:<port>/yjs`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly storage: Storage;
  readonly rooms: RoomManager;
  readonly metrics: RecordingMetrics;
  /** Closes rooms, listener and storage; removes the temp folder it made. */
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'patchbay-yjs-'));
  const logger = options.logger ?? silentLogger;
  const metrics = recordingMetrics(options.onObserve);
  const opened = openSqliteStorage({ dataDir, logger, metrics });
  if (!opened.ok) throw new Error(opened.error.message);
  const storage = opened.value;
  for (const id of options.sessions ?? []) {
    if (!(await storage.getSession(id)).ok) await storage.createSession({ id, name: id });
  }
  const rooms = new RoomManager({
    storage: options.wrapStorage ? options.wrapStorage(storage) : storage,
    logger,
    metrics,
    ...(options.maxFrameBytes !== undefined && { maxFrameBytes: options.maxFrameBytes }),
    ...(options.pingIntervalMs !== undefined && { pingIntervalMs: options.pingIntervalMs }),
    unloadDelayMs: options.unloadDelayMs ?? 0,
    ...(options.awarenessRenewalMaxDelayMs !== undefined && {
      awarenessRenewalMaxDelayMs: options.awarenessRenewalMaxDelayMs,
    }),
  });
  const identities = options.identities ?? TEST_IDENTITIES;
  const app = new Hono();
  app.get(
    '/yjs/:sessionId',
    createYjsRoute({
      rooms,
      logger,
      authenticate:
        options.authenticate ??
        (async (c: Context): Promise<Result<Identity>> => {
          const found = identities[c.req.query('token') ?? ''];
          if (found === undefined) return err(problem(ErrorCode.unauthorized, 'unknown token'));
          if (found === 'forbidden') return err(problem(ErrorCode.forbidden, 'forbidden'));
          return ok(found);
        }),
      sessionExists: options.sessionExists ?? (async (id) => (await storage.getSession(id)).ok),
    }),
  );
  const wss = createYjsWebSocketServer(
    options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes },
  );
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve(
      { fetch: app.fetch, port: 0, hostname: '127.0.0.1', websocket: { server: wss } },
      () => resolve(s),
    );
  });
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    url: `ws://127.0.0.1:${port}/yjs`,
    port,
    dataDir,
    storage,
    rooms,
    metrics,
    async close() {
      if (closed) return;
      closed = true;
      await rooms.close();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await storage.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The stock y-websocket client in Node: `ws` as the WebSocket, no BroadcastChannel shortcut. */
export function connectProvider(
  url: string,
  sessionId: string,
  token: string,
  doc: Y.Doc = new Y.Doc(),
): WebsocketProvider {
  return new WebsocketProvider(url, sessionId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token },
    // Two providers in one process would otherwise sync through BroadcastChannel, not the server.
    disableBc: true,
    maxBackoffTime: 200,
  });
}

/** Resolves once the provider has synced with the server. */
export function synced(provider: WebsocketProvider): Promise<void> {
  if (provider.synced) return Promise.resolve();
  return new Promise((resolve) => {
    const onSync = (state: boolean) => {
      if (!state) return;
      provider.off('sync', onSync);
      resolve();
    };
    provider.on('sync', onSync);
  });
}

/** Polls until `check` holds; fails with `what` after `timeoutMs`. Not a timing assertion. */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw WebSocket to the room server, recording what it receives and how it closed. */
export interface RawSocket {
  readonly ws: WebSocket;
  readonly received: Uint8Array[];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
}

export function openRawSocket(
  url: string,
  sessionId: string,
  token: string,
  options: { autoPong?: boolean } = {},
): RawSocket {
  const ws = new WebSocket(`${url}/${sessionId}?token=${encodeURIComponent(token)}`, {
    autoPong: options.autoPong ?? true,
  });
  const received: Uint8Array[] = [];
  ws.binaryType = 'nodebuffer';
  ws.on('message', (data: Buffer) => received.push(new Uint8Array(data)));
  ws.on('error', () => {});
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, received, opened, closed };
}
