import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../app';
import type { PatchbayServer } from '../app';
import type { Engine } from '@patchbay/engine';
import { PREVIEW_IDLE_MS, PreviewHub } from './preview-route';

let server: PatchbayServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'patchbay-preview-'));
  server = await createServer({ dataDir: dir, hostname: '127.0.0.1', demo: false });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const YAML = `
name: Preview
nodes:
  bars:
    kind: video::colorbars
    params: { width: 640, height: 360, fps: 30 }
  mix:
    kind: video::compositor
    params: { width: 640, height: 360, output_format: i420 }
    needs: [bars]
`;

async function pollPreview(session: string, node: string): Promise<Response> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${server.url}/api/v1/sessions/${session}/nodes/${node}/preview`);
    if (res.status !== 204) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no preview frame within 10 s');
}

describe('GET /api/v1/sessions/:id/nodes/:node/preview', () => {
  it('answers the running compositor’s latest frame as a PNG (I420 output read back as colour)', async () => {
    const created = await fetch(`${server.url}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ yaml: YAML }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const res = await pollPreview(id, 'mix');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const png = new Uint8Array(await res.arrayBuffer());
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    const ihdr = new DataView(png.buffer, 16, 8);
    expect([ihdr.getUint32(0), ihdr.getUint32(4)]).toEqual([480, 270]);
    // Later frames arrive as the pipeline runs.
    const first = Number(res.headers.get('x-frame-pts-us'));
    await new Promise((r) => setTimeout(r, 300));
    const later = await pollPreview(id, 'mix');
    expect(Number(later.headers.get('x-frame-pts-us'))).toBeGreaterThan(first);
  });

  it('answers 404 for an unknown session and 204 for a node that sends no video', async () => {
    const missing = await fetch(`${server.url}/api/v1/sessions/s-nope/nodes/mix/preview`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const created = await fetch(`${server.url}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'empty' }),
    });
    const { id } = (await created.json()) as { id: string };
    expect((await fetch(`${server.url}/api/v1/sessions/${id}/nodes/ghost/preview`)).status).toBe(
      204,
    );
  });
});

describe('PreviewHub', () => {
  it('taps a node on the first request and removes taps nobody asked for in PREVIEW_IDLE_MS', async () => {
    let now = 0;
    let taps = 0;
    const engine = {
      tap: () => {
        taps++;
        return () => taps--;
      },
    } as unknown as Engine;
    const hub = new PreviewHub({ get: async () => ({ ok: true, value: { engine } }) }, () => now);
    expect((await hub.png('s', 'mix')).ok).toBe(true);
    await hub.png('s', 'mix');
    expect([taps, hub.tapCount]).toEqual([1, 1]);
    now += PREVIEW_IDLE_MS - 1;
    hub.sweep();
    expect(taps).toBe(1);
    now += 2;
    hub.sweep();
    expect([taps, hub.tapCount]).toEqual([0, 0]);
    hub.close();
  });
});
