import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Authenticator,
  LOCAL_IDENTITY,
  loadAuthConfig,
  parseTokensEnv,
  parseTokensFile,
  requestToken,
} from './auth';

describe('tokens configuration', () => {
  it('PATCHBAY_TOKENS="token:name:role,…" gives one identity per token', () => {
    const r = parseTokensEnv('t1:ann:admin, t2:bo:editor,t3:cy:viewer');
    expect(r).toEqual({
      ok: true,
      value: [
        { token: 't1', name: 'ann', role: 'admin' },
        { token: 't2', name: 'bo', role: 'editor' },
        { token: 't3', name: 'cy', role: 'viewer' },
      ],
    });
  });

  it('bad entries are refused with a message naming the entry', () => {
    for (const bad of [
      't1:ann',
      't1:ann:boss',
      't1:ann:admin:x',
      't1:a:admin,t1:b:viewer',
      't1:a:admin,t2:a:viewer',
    ]) {
      const r = parseTokensEnv(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('bad_request');
    }
  });

  it('the tokens file holds tokens and per-role allowlists; the file wins over the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'patchbay-auth-'));
    try {
      const file = join(dir, 'tokens.json');
      writeFileSync(
        file,
        JSON.stringify({
          tokens: [{ token: 'f1', name: 'fay', role: 'editor' }],
          allowedKinds: { editor: ['audio::*', 'core::sink'] },
        }),
      );
      const r = loadAuthConfig({ PATCHBAY_TOKENS_FILE: file, PATCHBAY_TOKENS: 'x:y:admin' });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.value.tokens.map((t) => t.name)).toEqual(['fay']);
      const auth = new Authenticator(r.value);
      expect(auth.kindAllowed('editor', 'audio::gain')).toBe(true);
      expect(auth.kindAllowed('editor', 'core::sink')).toBe(true);
      expect(auth.kindAllowed('editor', 'video::compositor')).toBe(false);
      expect(auth.kindAllowed('admin', 'video::compositor')).toBe(true);
      expect(loadAuthConfig({ PATCHBAY_TOKENS_FILE: join(dir, 'missing.json') }).ok).toBe(false);
      expect(parseTokensFile('{"tokens": [{"token": "a"}]}').ok).toBe(false);
      expect(parseTokensFile('not json').ok).toBe(false);
      expect(parseTokensFile('[{"token": "a", "name": "b", "role": "viewer"}]').ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Authenticator', () => {
  it('with no tokens every request is the admin "local" (open single-user mode)', () => {
    const auth = new Authenticator({ tokens: [] });
    expect(auth.open).toBe(true);
    expect(auth.authenticate(undefined)).toEqual({ ok: true, value: LOCAL_IDENTITY });
  });

  it('with tokens, a known token is its identity; a missing or unknown one is unauthorized', () => {
    const auth = new Authenticator({ tokens: [{ token: 'secret', name: 'ann', role: 'viewer' }] });
    const who = auth.authenticate('secret');
    expect(who.ok && who.value).toMatchObject({ userId: 'ann', name: 'ann', role: 'viewer' });
    expect(auth.authenticate(undefined)).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });
    expect(auth.authenticate('secreT')).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });
  });

  it('the token comes from Authorization: Bearer, or ?token= on a WebSocket upgrade only', () => {
    expect(
      requestToken(new Request('http://x/a', { headers: { authorization: 'Bearer abc' } })),
    ).toBe('abc');
    expect(requestToken(new Request('http://x/a?token=q'))).toBeUndefined();
    expect(
      requestToken(new Request('http://x/a?token=q', { headers: { upgrade: 'websocket' } })),
    ).toBe('q');
  });
});
