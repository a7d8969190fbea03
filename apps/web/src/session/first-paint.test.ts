import { afterEach, describe, expect, it, vi } from 'vitest';
import { dismissFirstPaint, firstPaintView, hasFirstPaint } from './first-paint';

/** The one element of a page that the first paint is (no DOM here: a stand-in for it). */
function pageWith(data: Record<string, string>) {
  let present = true;
  const el = { dataset: { ...data }, removed: 0, remove: () => {} };
  vi.stubGlobal('document', {
    getElementById: (id: string) => (present && id === 'pb-first-paint' ? el : null),
  });
  el.remove = () => {
    el.removed++;
    present = false;
  };
  return el;
}

afterEach(() => vi.unstubAllGlobals());

describe('the first paint, as the studio reads it', () => {
  it('gives the viewport and canvas size it was fitted to, for its own session only', () => {
    pageWith({ sessionId: 's1', viewport: '12.5,-40,0.5', canvas: '820,800' });
    expect(hasFirstPaint('s1')).toBe(true);
    expect(firstPaintView('s1')).toEqual({
      viewport: { x: 12.5, y: -40, zoom: 0.5 },
      canvas: { width: 820, height: 800 },
    });
    expect(hasFirstPaint('s2')).toBe(false);
    expect(firstPaintView('s2')).toBeUndefined();
  });

  it('gives nothing before it was fitted, or when what it recorded does not read', () => {
    for (const data of <Array<Record<string, string>>>[
      { sessionId: 's1' },
      { sessionId: 's1', viewport: '1,2', canvas: '820,800' },
      { sessionId: 's1', viewport: '1,2,zero', canvas: '820,800' },
      { sessionId: 's1', viewport: '1,2,0', canvas: '820,800' },
      { sessionId: 's1', viewport: '1,2,1', canvas: '0,800' },
      { sessionId: 's1', viewport: '1,2,1,4', canvas: '820,800' },
    ]) {
      pageWith(data);
      expect(firstPaintView('s1'), JSON.stringify(data)).toBeUndefined();
    }
  });

  it('is removed once, and dismissing a page without one does nothing', () => {
    const el = pageWith({ sessionId: 's1' });
    dismissFirstPaint();
    dismissFirstPaint();
    expect(el.removed).toBe(1);
    expect(hasFirstPaint('s1')).toBe(false);
    vi.stubGlobal('document', { getElementById: () => null });
    expect(() => dismissFirstPaint()).not.toThrow();
  });
});
