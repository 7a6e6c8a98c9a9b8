import { setFlagsFromString } from 'node:v8';

/** Sockets opened since the last compaction before one is worth its pause. */
const MIN_OPENED = 1_000;
/** How long no socket may have opened before the burst counts as over. */
const QUIET_MS = 2_000;

export interface Compaction {
  /** `startup`: the first, once the node has been up and quiet for the same 2 s. */
  reason: 'startup' | 'burst';
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
  /**
   * Starting up is a burst too (modules, config, connections leave their garbage the same way), and
   * compacting after it makes the idle node's RSS a fair zero point for memory per connection.
   */
  private startupPending = false;

  constructor(private readonly gc: (() => void) | undefined) {}

  /** Once the node is up (listening, broker connected): the startup compaction follows the quiet. */
  started(now: number): void {
    this.startupPending = true;
    this.lastOpenAt = Math.max(this.lastOpenAt, now);
  }

  get available(): boolean {
    return this.gc !== undefined;
  }

  opening(now: number): void {
    this.opened++;
    this.lastOpenAt = now;
  }

  /** Called periodically; collects when a large enough burst has been quiet long enough. */
  tick(now: number): Compaction | null {
    if (!this.gc || now - this.lastOpenAt < QUIET_MS) return null;
    const burst = this.opened >= MIN_OPENED;
    if (!burst && !this.startupPending) return null;
    const opened = this.opened;
    this.opened = 0;
    this.startupPending = false;
    const started = performance.now();
    this.gc();
    return { reason: burst ? 'burst' : 'startup', pauseMs: performance.now() - started, opened };
  }
}

/**
 * Node's `gc` when started with --expose-gc, made to compact. A plain full GC frees the burst's dead
 * objects but keeps the old-generation pages they were scattered over: measured at 10,000 sockets,
 * 30 MB of heap committed for 18 MB live, about 900 B per socket. Compaction moves the survivors
 * together and returns the emptied pages (24 MB committed), for about 10 ms more pause. The flag is
 * read at each GC, so it is turned on for this one only and the collections under load keep V8's
 * own choice.
 */
export function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') return undefined;
  // Started with it: every full GC compacts already, and turning it off after ours would override that.
  if (process.execArgv.includes('--compact-on-every-full-gc')) return () => void (gc as () => unknown)();
  return () => {
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      (gc as () => unknown)();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}
