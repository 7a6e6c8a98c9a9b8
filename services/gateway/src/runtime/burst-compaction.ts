/** Sockets opened since the last compaction before one is worth its pause. */
const MIN_OPENED = 1_000;
/** How long no socket may have opened before the burst counts as over. */
const QUIET_MS = 2_000;

export interface Compaction {
  pauseMs: number;
  opened: number;
}

/**
 * One full garbage collection once a burst of connections is over.
 *
 * Each upgrade leaves garbage (the token, the resume reads, promises), and with the gateway's small
 * young generation most of a burst's garbage is promoted before it dies. An idle node allocates
 * nothing, so V8 never runs the major GC that would free it, and the node keeps that memory for as
 * long as its sockets stay idle (about a third of its RSS per connection, measured in W3). This runs
 * that GC itself, once per burst and only after the burst: a pause of tens of milliseconds at a
 * moment with nothing to deliver, instead of holding the memory. It needs `gc`, which Node exposes
 * with `--expose-gc` (the gateway is started with it); without it this does nothing.
 */
export class BurstCompaction {
  private opened = 0;
  private lastOpenAt = 0;

  constructor(private readonly gc: (() => void) | undefined) {}

  get available(): boolean {
    return this.gc !== undefined;
  }

  opening(now: number): void {
    this.opened++;
    this.lastOpenAt = now;
  }

  /** Called periodically; collects when a large enough burst has been quiet long enough. */
  tick(now: number): Compaction | null {
    if (!this.gc || this.opened < MIN_OPENED || now - this.lastOpenAt < QUIET_MS) return null;
    const opened = this.opened;
    this.opened = 0;
    const started = performance.now();
    this.gc();
    return { pauseMs: performance.now() - started, opened };
  }
}

/** Node's `gc` when started with --expose-gc. */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? () => void (gc as () => unknown)() : undefined;
}
