import type { GatewayMetrics } from '../../metrics/gateway-metrics';
import type { Session } from '../sessions/session';
import type { CursorWriter } from './cursor-writer';
import type { ReceiptWriter } from './receipt-writer';

/** Cumulative acks: they advance the device cursor, never beyond what this connection delivered. */
export class Acks {
  constructor(
    private readonly cursors: CursorWriter,
    private readonly receipts: ReceiptWriter,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** `seq` is a non-negative integer (the protocol's decoder checked it). */
  ack(s: Session, seq: number, ref: string | undefined): void {
    if (seq > s.position) {
      return s.protocol.refuse(s, {
        kind: 'bad_request',
        message: `cannot ack seq ${seq}: only ${s.position} was delivered`,
        ref,
      });
    }
    if (seq <= s.ackedSeq) return;
    this.receipts.acked(s, s.ackedSeq + 1, seq);
    s.ackedSeq = seq;
    this.metrics.acks.inc();
    this.cursors.record(s.userId, s.deviceId, seq);
  }
}
