import type { CursorsRepository, CursorUpdate } from '@notify/store';
import type { JsonLogger } from '@notify/logging';
import { WriteSlot } from '../write-slot';

/**
 * Coalesces acks into one write per flush interval: a device acking every notification costs one row
 * update per interval, not one per ack. A cursor may lag by one interval; it never runs ahead, since
 * only seqs a device acked are recorded. One write at a time (WriteSlot): while one is slow, acks keep
 * merging into one entry per device, and the next write takes them all.
 */
export class CursorWriter {
  private pending = new Map<string, CursorUpdate>();
  private readonly timer: NodeJS.Timeout;
  private readonly writes = new WriteSlot();

  constructor(
    private readonly repository: Pick<CursorsRepository, 'advance'>,
    flushMs: number,
    private readonly log: JsonLogger,
  ) {
    this.timer = setInterval(() => this.writes.tick(this.write), flushMs);
    this.timer.unref();
  }

  record(userId: string, deviceId: string, ackedSeq: number): void {
    const key = `${userId}\u0000${deviceId}`;
    const current = this.pending.get(key);
    if (!current || current.ackedSeq < ackedSeq) this.pending.set(key, { userId, deviceId, ackedSeq });
  }

  flush(): Promise<void> {
    return this.writes.run(this.write);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private readonly write = async (): Promise<void> => {
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
  };
}
