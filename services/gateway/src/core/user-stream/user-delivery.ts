import { toPayload, type StoredNotification } from '@notify/store';
import type { JsonLogger } from '@notify/logging';
import type { GatewayMetrics } from '../../metrics/gateway-metrics';
import type { Session } from '../sessions/session';
import { catchUp, onLive } from './ordered-stream';
import type { ReceiptWriter } from './receipt-writer';
import { REPLAY_PAGE, type SessionReads } from './session-reads';

/**
 * User notifications on each socket: strictly increasing seqs, no gap, no duplicate (the rule is in
 * ordered-stream.ts). Live messages come from the node queue; the backlog at open, a gap in live
 * traffic and whatever was lost while the broker was away are read from the store.
 */
export class UserDelivery {
  constructor(
    private readonly reads: SessionReads,
    private readonly receipts: ReceiptWriter,
    private readonly metrics: GatewayMetrics,
    private readonly log: JsonLogger,
  ) {}

  /**
   * A live notification for every local socket of its user, from `first` on. `body` is sent as is.
   * Returns whether it was written to at least one socket.
   */
  live(first: Session, seq: number, body: Uint8Array): boolean {
    let written = false;
    for (let s: Session | null = first; s; s = s.nextOfUser) {
      if (s.closed) continue;
      switch (onLive(s, seq)) {
        case 'deliver':
          if (s.protocol.liveNotification(s, body)) {
            s.position = seq;
            this.receipts.delivered(s, seq);
            this.metrics.delivered.inc();
            written = true;
          }
          break;
        case 'duplicate':
          this.metrics.duplicatesDropped.inc();
          break;
        case 'gap':
          this.metrics.gapsFilled.inc();
          void this.catchUp(s);
          break;
      }
    }
    return written;
  }

  /** Reads the socket's backlog from the store, then it goes live. */
  async catchUp(s: Session): Promise<void> {
    try {
      await catchUp(
        s,
        {
          fetchAfter: (after) => this.reads.after(s.userId, after),
          numberOf: (n: StoredNotification) => n.seq,
          deliver: (n: StoredNotification) => {
            if (!s.protocol.storedNotification(s, toPayload(n))) return false;
            this.receipts.delivered(s, n.seq);
            this.metrics.delivered.inc();
            this.metrics.replayed.inc();
            return true;
          },
        },
        REPLAY_PAGE,
      );
    } catch (err) {
      this.log.error('replay failed; closing so the client resumes from its cursor', {
        userId: s.userId,
        error: err,
      });
      if (!s.closed) s.protocol.close(s, 'internal', 'replay failed');
    }
  }
}
