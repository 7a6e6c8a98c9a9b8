/** A write of a periodic writer: it handles its own errors (a tick has no caller to report to). */
export type Write = () => Promise<void>;

/**
 * One write at a time for a writer driven by timers, and never a queue of them. A tick that finds a
 * write in flight does not chain another behind it: its write is marked due and runs once the one in
 * flight ends, however many ticks asked for it meanwhile. The writer's pending state stays where it
 * is, merged per key, and the next write that runs takes all of it. So a write that hangs (PostgreSQL
 * gone without a FIN or RST, until the pool's query timeout fails it) holds one write and at most one
 * due write of each kind, not one more promise per tick; and a kind that missed its tick (a heartbeat
 * behind a slow flush) still runs right after, not a whole interval later.
 */
export class WriteSlot {
  private inFlight: Promise<void> | null = null;
  /** Writes asked for by ticks while another was in flight, each once, in the order first asked. */
  private readonly due = new Set<Write>();

  /** A timer's tick: runs `write` now, or once the write in flight ends. */
  tick(write: Write): void {
    if (this.inFlight) this.due.add(write);
    else void this.start(write);
  }

  /**
   * Runs `write` after the write in flight and the due ones (an explicit flush, start, shutdown);
   * settles as `write` does.
   */
  async run(write: Write): Promise<void> {
    while (this.inFlight) await this.inFlight;
    return this.start(write);
  }

  private start(write: Write): Promise<void> {
    this.due.delete(write);
    const done = write();
    this.inFlight = done.then(
      () => this.ended(),
      () => this.ended(),
    );
    return done;
  }

  private ended(): void {
    this.inFlight = null;
    const [next] = this.due;
    if (next) void this.start(next);
  }
}
