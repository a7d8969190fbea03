import { describe, expect, it } from 'vitest';
import { parseRoute, routePath } from './route';

describe('parseRoute', () => {
  it('maps the three studio paths', () => {
    expect(parseRoute('/')).toEqual({ page: 'sessions' });
    expect(parseRoute('/s/abc_1-2')).toEqual({ page: 'editor', sessionId: 'abc_1-2' });
    expect(parseRoute('/s/abc/monitor')).toEqual({ page: 'monitor', sessionId: 'abc' });
  });

  it('ignores a trailing slash', () => {
    expect(parseRoute('/s/abc/')).toEqual({ page: 'editor', sessionId: 'abc' });
    expect(parseRoute('/s/abc/monitor/')).toEqual({ page: 'monitor', sessionId: 'abc' });
  });

  it('refuses unknown paths and ids a session cannot have', () => {
    expect(parseRoute('/x').page).toBe('not_found');
    expect(parseRoute('/s').page).toBe('not_found');
    expect(parseRoute('/s/abc/other').page).toBe('not_found');
    expect(parseRoute('/s/a%20b').page).toBe('not_found');
    expect(parseRoute('/s/%E0%A4%A').page).toBe('not_found');
  });

  it('round-trips through routePath', () => {
    for (const path of ['/', '/s/demo', '/s/demo/monitor']) {
      expect(routePath(parseRoute(path))).toBe(path);
    }
  });
});
