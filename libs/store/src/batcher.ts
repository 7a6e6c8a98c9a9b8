export interface BatcherOptions {
  /** Items written in one transaction at most (a single larger request still goes alone). */
  maxItems: number;
  /** Transactions in flight at once: while they run, new requests queue up and form the next batch. */
  maxInFlight: number;
  /**
   * Whether an error of a whole batch says nothing about its requests (a lost connection): then every
   * request fails with it. Any other error may come from one request's data, so a batch of several
   * is split and each request is written alone, and only the culprit fails.
   */
  isTransient(err: unknown): boolean;
  /** Told the size of every write, for metrics. */
  onWrite?(items: number): void;
}

interface Request<I, O> {
  items: readonly I[];
  resolve(results: O[]): void;
  reject(err: unknown): void;
}

/**
 * Group commit, and its read-side twin. Concurrent writers (HTTP requests, AMQP messages in flight)
 * share one transaction and one WAL flush instead of paying a commit each; concurrent readers (the
 * sockets of a reconnect storm) share one query instead of a round trip and a pool slot each.
 *
 * Nothing waits for a timer. A batch starts at the end of the event-loop turn in which its first
 * request arrived (or a slot freed), with everything that arrived in that turn: the requests of one
 * socket read (a burst of AMQP deliveries, several HTTP requests) share a write even when slots are
 * free, instead of the first two going alone and the rest after them. A lone request waits only for
 * the turn to end (microseconds). Batches then grow while earlier ones are running, which is exactly
 * when they pay off.
 */
export class Batcher<I, O> {
  private queue: Request<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    /** Writes items atomically; returns one result per item, in input order. */
    private readonly write: (items: readonly I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  /** Resolves with one result per item once they are committed (with others, or alone). */
  submit(items: readonly I[]): Promise<O[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<O[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.schedule();
    });
  }

  /**
   * setImmediate runs after the I/O callbacks of the current turn: every request they made is queued.
   * A write that completes with nothing queued schedules nothing; the next submit does.
   */
  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      let count = 0;
      let take = 0;
      while (
        take < this.queue.length &&
        (take === 0 || count + this.queue[take].items.length <= this.options.maxItems)
      ) {
        count += this.queue[take].items.length;
        take++;
      }
      const batch = this.queue.splice(0, take);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async run(batch: Request<I, O>[]): Promise<void> {
    const items = batch.length === 1 ? batch[0].items : batch.flatMap((r) => r.items);
    let results: O[];
    try {
      results = await this.writeObserved(items);
    } catch (err) {
      if (batch.length === 1 || this.options.isTransient(err)) {
        for (const r of batch) r.reject(err);
        return;
      }
      await Promise.all(batch.map((r) => this.writeObserved(r.items).then(r.resolve, r.reject)));
      return;
    }
    let offset = 0;
    for (const r of batch) {
      r.resolve(results.slice(offset, offset + r.items.length));
      offset += r.items.length;
    }
  }

  private writeObserved(items: readonly I[]): Promise<O[]> {
    this.options.onWrite?.(items.length);
    return this.write(items);
  }
}
