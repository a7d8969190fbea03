import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { mountStudio } from './studio';

const dist = mkdtempSync(join(tmpdir(), 'patchbay-studio-'));
mkdirSync(join(dist, 'assets'));
writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Patchbay studio</title>');
writeFileSync(join(dist, 'assets', 'main-abc123.js'), 'console.log(1)');
writeFileSync(join(dist, 'favicon.svg'), '<svg/>');
writeFileSync(join(tmpdir(), 'patchbay-outside.txt'), 'secret');
afterAll(() => rmSync(dist, { recursive: true, force: true }));

function app(): Hono {
  const a = new Hono();
  a.get('/api/v1/sessions', (c) => c.json({ sessions: [] }));
  expect(mountStudio(a, dist)).toBe(true);
  return a;
}

describe('the built studio, served by the server', () => {
  it('answers the web routes with index.html so the browser router takes over', async () => {
    for (const path of ['/', '/s/abc', '/s/abc/monitor']) {
      const res = await app().request(path);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('Patchbay studio');
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('serves hashed assets with a long cache life, and top-level files', async () => {
    const js = await app().request('/assets/main-abc123.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const icon = await app().request('/favicon.svg');
    expect(icon.headers.get('content-type')).toMatch(/svg/);
  });

  it('leaves the API alone and never serves files outside the build', async () => {
    const api = await app().request('/api/v1/sessions');
    expect(await api.json()).toEqual({ sessions: [] });
    expect((await app().request('/api/v1/nope')).status).toBe(404);
    const escape = await app().request('/assets/..%2f..%2fpatchbay-outside.txt');
    expect(await escape.text()).not.toContain('secret');
  });

  it('answers 503 while a rebuild has removed index.html', async () => {
    const a = app();
    rmSync(join(dist, 'index.html'));
    try {
      const res = await a.request('/s/abc');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
    } finally {
      writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Patchbay studio</title>');
    }
  });

  it('mounts nothing when the studio has not been built', () => {
    expect(mountStudio(new Hono(), join(dist, 'missing'))).toBe(false);
  });
});
