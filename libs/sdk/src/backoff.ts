export interface BackoffOptions {
  /** First retry ceiling in ms (default 500); doubles per failed attempt. */
  baseMs?: number;
  /** Largest ceiling in ms (default 30,000). */
  capMs?: number;
}

/** No retry is ever sooner than this, whatever the jitter draws: never a tight loop. */
export const MIN_RETRY_MS = 100;

/**
 * "Full jitter" exponential backoff: a uniformly random delay in [0, min(cap, base · 2^attempt)),
 * floored at MIN_RETRY_MS (or the ceiling, when that is smaller).
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.max(0, Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30)));
  return Math.max(Math.min(MIN_RETRY_MS, ceiling), Math.floor(random() * ceiling));
}
