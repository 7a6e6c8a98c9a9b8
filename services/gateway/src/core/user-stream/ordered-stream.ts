/**
 * One ordered stream: a socket's user notifications (by seq) or a node's channel (by offset).
 * Numbers are allocated gap-free and number N is committed only after every number below it, so a
 * live N proves that everything below N can be read from the store. That makes one rule enough to
 * merge live traffic with store reads without gap or duplicate:
 *  - while catching up from the store, live numbers are only noted in `target`;
 *  - otherwise position + 1 is delivered, anything at or below position is a duplicate, and anything
 *    above position + 1 is a gap, filled by catching up to it.
 */
export interface StreamCursor {
  /** Highest number delivered. */
  position: number;
  /** Highest number known to be committed while catching up. */
  target: number;
  /** Reading from the store: live numbers only raise `target`. */
  catchingUp: boolean;
}

/** Starts catching up: nothing is delivered live until the first read from the store is done. */
export const newStreamCursor = (): StreamCursor => ({ position: 0, target: 0, catchingUp: true });

export type LiveAction = 'deliver' | 'duplicate' | 'gap' | 'held';

/** What to do with live number `n`. For 'deliver' the caller delivers and sets position = n. */
export function onLive(c: StreamCursor, n: number): LiveAction {
  if (c.catchingUp) {
    if (n > c.target) c.target = n;
    return 'held';
  }
  if (n <= c.position) return 'duplicate';
  if (n === c.position + 1) return 'deliver';
  c.target = n;
  return 'gap';
}

export interface StoreSource<T> {
  /** Items numbered above `after`, oldest first, at most `limit`. */
  fetchAfter(after: number, limit: number): Promise<T[]>;
  numberOf(item: T): number;
  /** Returns false when the consumer went away: the catch-up stops. */
  deliver(item: T): boolean;
}

/**
 * Reads from the store everything after `position`, at least up to `target`, then goes live.
 * A target that was known before a query started is committed, so if the store does not return it,
 * it expired (or was trimmed from history) and is skipped rather than waited for.
 * Returns false when stopped because the consumer went away. Errors propagate to the caller.
 */
export async function catchUp<T>(
  c: StreamCursor,
  source: StoreSource<T>,
  pageSize: number,
): Promise<boolean> {
  c.catchingUp = true;
  try {
    for (;;) {
      const knownTarget = c.target;
      const items = await source.fetchAfter(c.position, pageSize);
      for (const item of items) {
        if (!source.deliver(item)) return false;
        c.position = source.numberOf(item);
      }
      if (items.length === pageSize) continue;
      if (c.target <= c.position) return true;
      if (knownTarget > c.position) c.position = knownTarget;
    }
  } finally {
    c.catchingUp = false;
  }
}
