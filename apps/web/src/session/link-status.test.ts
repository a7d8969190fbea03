import { describe, expect, it } from 'vitest';
import { combinedStatus } from './link-status';

describe('status chip', () => {
  it('is connected only when the document and control links both are', () => {
    expect(combinedStatus('connected', 'connected')).toBe('connected');
    expect(combinedStatus('connected', 'connecting')).toBe('connecting');
    expect(combinedStatus('connecting', 'connected')).toBe('connecting');
  });

  it('shows offline as soon as either link is', () => {
    expect(combinedStatus('offline', 'connected')).toBe('offline');
    expect(combinedStatus('connecting', 'offline')).toBe('offline');
  });
});
