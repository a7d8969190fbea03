/** Reconnect delays: exponential from `RECONNECT_BASE_MS` up to `RECONNECT_MAX_MS`, with jitter. */
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_MAX_MS = 15_000;

/**
 * The delay before reconnect attempt `attempt` (0-based): "equal jitter", half fixed and half
 * random, so clients dropped together by a server restart do not all return at once.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
