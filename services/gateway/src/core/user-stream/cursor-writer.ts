import type { CursorsRepository, CursorUpdate } from '@notify/store';
import type { JsonLogger } from '@notify/logging';

/**
 * Coalesces acks into one write per flush interval: a device acking every notification costs one row
 * update per interval, not one per ack. A cursor may lag by one interval; it never runs ahead, since
 * only seqs a device acked are recorded.
 */
export class CursorWriter {
  private pending = new Map<string, CursorUpdate>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly repository: CursorsRepository,
    flushMs: number,
    private readonly log: JsonLogger,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  record(userId: string, deviceId: string, ackedSeq: number): void {
    const key = `${userId}\u0000${deviceId}`;
    const current = this.pending.get(key);
    if (!current || current.ackedSeq < ackedSeq) this.pending.set(key, { userId, deviceId, ackedSeq });
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.repository.advance([...batch.values()]);
      } catch (err) {
        // Put them back (newer acks recorded meanwhile win) and try at the next interval.
        for (const [key, update] of batch) if (!this.pending.has(key)) this.pending.set(key, update);
        this.log.warn('cursor flush failed; will retry', { cursors: batch.size, error: err });
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
