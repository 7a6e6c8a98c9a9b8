import { Injectable, NotFoundException } from '@nestjs/common';
import type { NotificationPayload } from '@notify/protocol';
import { InboxRepository, ReceiptsRepository, toContentPayload } from '@notify/store';
import { DeliveryPublisher } from '../delivery/delivery.publisher';

export interface DeliveryReceiptView {
  deviceId: string;
  deliveredAt: string | null;
  ackedAt: string | null;
}

export type NotificationDetails = NotificationPayload & {
  userId: string;
  retracted: boolean;
  deliveries: DeliveryReceiptView[];
};

export interface RetractResult {
  id: string;
  userId: string;
  seq: number;
  retracted: true;
  unread: number;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const later = (a: Date, b: Date): Date => (a.getTime() >= b.getTime() ? a : b);

/** One notification: its state and receipts, and its retraction. */
@Injectable()
export class NotificationUseCase {
  constructor(
    private readonly inbox: InboxRepository,
    private readonly receipts: ReceiptsRepository,
    private readonly delivery: DeliveryPublisher,
  ) {}

  /** With `userId`, another user's notification is not found. A retracted one has no content left. */
  async details(id: string, userId?: string): Promise<NotificationDetails> {
    const n = await this.inbox.find(id, userId);
    if (!n) throw new NotFoundException('notification not found');
    const receipts = await this.receipts.of(n.userId, n.seq);
    return {
      ...toContentPayload(n),
      userId: n.userId,
      retracted: n.retractedAt !== null,
      deliveries: receipts.map((r) => {
        // A receipt range carries the time of its first seq, so a later seq of the same range reads
        // as earlier than it was: never before the notification existed, nor acked before delivered.
        const deliveredAt = r.deliveredAt && later(r.deliveredAt, n.createdAt);
        const ackedAt = r.ackedAt && later(r.ackedAt, deliveredAt ?? n.createdAt);
        return { deviceId: r.deviceId, deliveredAt: iso(deliveredAt), ackedAt: iso(ackedAt) };
      }),
    };
  }

  /**
   * Retracts (idempotent: again is a 200 that changes nothing); the first time, every socket of the
   * user hears `retracted` with the new unread count.
   */
  async retract(id: string, userId?: string): Promise<RetractResult> {
    const r = await this.inbox.retract(id, userId);
    if (!r) throw new NotFoundException('notification not found');
    if (r.changed) await this.delivery.publishRetracted(r.userId, r);
    return { id, userId: r.userId, seq: r.seq, retracted: true, unread: r.unread };
  }
}
