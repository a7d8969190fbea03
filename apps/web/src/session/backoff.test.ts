import { describe, expect, it } from 'vitest';
import { RECONNECT_BASE_MS, RECONNECT_MAX_MS, reconnectDelay } from './backoff';

describe('reconnect backoff', () => {
  it('grows exponentially up to the cap', () => {
    expect(reconnectDelay(0, () => 1)).toBe(RECONNECT_BASE_MS);
    expect(reconnectDelay(3, () => 1)).toBe(RECONNECT_BASE_MS * 8);
    expect(reconnectDelay(50, () => 1)).toBe(RECONNECT_MAX_MS);
  });

  it('jitters over the upper half of the window, so clients spread out', () => {
    expect(reconnectDelay(2, () => 0)).toBe((RECONNECT_BASE_MS * 4) / 2);
    const delays = new Set([0.1, 0.4, 0.9].map((r) => reconnectDelay(2, () => r)));
    expect(delays.size).toBe(3);
  });
});
