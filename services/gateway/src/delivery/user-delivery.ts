import { CloseCode, encodeNotificationFrame } from '@notify/protocol';
import { toPayload, type NotificationsRepository } from '@notify/store';
import type { JsonLogger } from '@notify/logging';
import type { Session } from '../session/session';
import type { GatewayMetrics } from '../http/metrics';
import type { FrameSender } from '../ws/frame-sender';

const REPLAY_PAGE = 500;

/**
 * Ordering of user notifications on each socket: strictly increasing seqs, no gap, no duplicate.
 *
 * Live messages come from the node queue; anything else (the backlog at open, a gap in live traffic,
 * messages lost while the broker was away) is read from the store. This relies on seq N being
 * committed only after every seq below N, so a live seq always proves its predecessors are readable.
 */
export class UserDelivery {
  constructor(
    private readonly notifications: NotificationsRepository,
    private readonly sender: FrameSender,
    private readonly metrics: GatewayMetrics,
    private readonly log: JsonLogger,
  ) {}

  /** A live notification for every local socket of its user. `frame` is sent as is. */
  live(sessions: Iterable<Session>, seq: number, frame: Uint8Array): void {
    for (const s of sessions) {
      if (s.closed) continue;
      if (s.catchingUp) {
        if (seq > s.targetSeq) s.targetSeq = seq;
      } else if (seq <= s.sentSeq) {
        this.metrics.duplicatesDropped.inc();
      } else if (seq === s.sentSeq + 1) {
        this.write(s, frame, seq);
      } else {
        this.metrics.gapsFilled.inc();
        s.targetSeq = seq;
        void this.catchUp(s);
      }
    }
  }

  /**
   * Reads from the store everything after `sentSeq` (at least up to `targetSeq`), then goes live.
   * Live messages arriving meanwhile only raise `targetSeq`, and the loop runs until it has passed it.
   */
  async catchUp(s: Session): Promise<void> {
    s.catchingUp = true;
    try {
      for (;;) {
        const knownTarget = s.targetSeq;
        const rows = await this.notifications.listAfter(s.userId, s.sentSeq, null, REPLAY_PAGE);
        if (s.closed) return;
        for (const n of rows) {
          if (!this.write(s, encodeNotificationFrame(toPayload(n)), n.seq)) return;
          this.metrics.replayed.inc();
        }
        if (rows.length === REPLAY_PAGE) continue;
        if (s.targetSeq <= s.sentSeq) return;
        // A target known before this query started is committed, so if it was not returned it
        // expired: skip past it rather than wait for it forever.
        if (knownTarget > s.sentSeq) s.sentSeq = knownTarget;
      }
    } catch (err) {
      this.log.error('replay failed; closing so the client resumes from its cursor', {
        userId: s.userId,
        error: err,
      });
      if (!s.closed) s.ws?.end(CloseCode.InternalError, 'replay failed');
    } finally {
      s.catchingUp = false;
    }
  }

  /** Returns false when the socket is gone or was closed for being too slow. */
  private write(s: Session, frame: Uint8Array | string, seq: number): boolean {
    if (!this.sender.send(s, frame)) return false;
    s.sentSeq = seq;
    this.metrics.delivered.inc();
    return true;
  }
}
