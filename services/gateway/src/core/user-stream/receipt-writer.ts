import type { JsonLogger } from '@notify/logging';
import type { ReceiptsRepository, ReceiptUpdate } from '@notify/store';
import type { Session } from '../sessions/session';
import { WriteSlot } from '../write-slot';

interface Range {
  from: number;
  to: number;
  /** ms since epoch of the range's first seq. */
  at: number;
}

interface Pending {
  userId: string;
  deviceId: string;
  delivered: Range | null;
  acked: Range | null;
}

/**
 * Delivery receipts, coalesced like the device cursors: per socket and flush interval one seq range
 * written to it and one acked, written for every socket in one insert per flush. The hot path costs
 * a map lookup per delivered frame (an object only at a socket's first frame of an interval); a
 * receipt's time is that of the first seq of its range, so it is exact to one interval. One write at
 * a time (WriteSlot): while one is slow, ranges keep growing in their socket's entry, and the next
 * write takes them all.
 */
export class ReceiptWriter {
  private pending = new Map<Session, Pending>();
  private readonly timer: NodeJS.Timeout;
  private readonly writes = new WriteSlot();

  constructor(
    private readonly repository: Pick<ReceiptsRepository, 'record'>,
    flushMs: number,
    private readonly log: JsonLogger,
  ) {
    this.timer = setInterval(() => this.writes.tick(this.write), flushMs);
    this.timer.unref();
  }

  /** `seq` was written to the socket (seqs per socket only increase). */
  delivered(s: Session, seq: number): void {
    const p = this.entry(s);
    if (p.delivered === null) p.delivered = { from: seq, to: seq, at: Date.now() };
    else p.delivered.to = seq;
  }

  /** The device acked `from`…`to` (a cumulative ack beyond its previous one). */
  acked(s: Session, from: number, to: number): void {
    const p = this.entry(s);
    if (p.acked === null) p.acked = { from, to, at: Date.now() };
    else p.acked.to = to;
  }

  /** At most one entry per socket: bounded by the node's connections. */
  private entry(s: Session): Pending {
    let p = this.pending.get(s);
    if (p === undefined) {
      p = { userId: s.userId, deviceId: s.deviceId, delivered: null, acked: null };
      this.pending.set(s, p);
    }
    return p;
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
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.repository.record(batch.map(toUpdate));
    } catch (err) {
      // Receipts are informational: a failed flush is logged and dropped, never retried forever.
      this.log.warn('receipt flush failed; these receipts are lost', {
        receipts: batch.length,
        error: err,
      });
    }
  };
}

const rangeOf = (r: Range | null): ReceiptUpdate['delivered'] =>
  r === null ? null : { from: r.from, to: r.to, at: new Date(r.at) };

const toUpdate = (p: Pending): ReceiptUpdate => ({
  userId: p.userId,
  deviceId: p.deviceId,
  delivered: rangeOf(p.delivered),
  acked: rangeOf(p.acked),
});
