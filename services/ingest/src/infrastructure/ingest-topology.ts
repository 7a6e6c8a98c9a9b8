/**
 * Whether the publish channel has declared ingest's exchanges and queues on its current connection.
 * A connection alone is not enough to be ready: until the `notify.ingest` queue and its binding
 * exist, a producer's message to the exchange is confirmed and dropped as unroutable.
 */
export class IngestTopology {
  private state: 'pending' | 'declared' | 'failed' = 'pending';
  private failure: Error | null = null;
  private readonly waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];

  get declared(): boolean {
    return this.state === 'declared';
  }

  /** A (re)connected channel is declaring it again. */
  declaring(): void {
    this.state = 'pending';
  }

  markDeclared(): void {
    this.state = 'declared';
    this.failure = null;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** The broker refused a declaration (e.g. a queue of that name with other arguments). */
  markFailed(err: Error): void {
    this.state = 'failed';
    this.failure = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** Resolves once declared; rejects on the first refusal, which start-up reports and exits on. */
  whenDeclared(): Promise<void> {
    if (this.state === 'declared') return Promise.resolve();
    if (this.state === 'failed' && this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}
