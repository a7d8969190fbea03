import { describe, expect, it } from 'vitest';
import { createApp } from './app';

describe('placeholder server app', () => {
  it('GET /healthz answers {ok: true} as JSON', async () => {
    const res = await createApp().request('/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ ok: true });
  });

  it('GET / serves an HTML page naming Patchbay', async () => {
    const res = await createApp().request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('Patchbay');
  });

  it('unknown paths are 404', async () => {
    const res = await createApp().request('/nope');
    expect(res.status).toBe(404);
  });
});
