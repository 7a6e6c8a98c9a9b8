import { Injectable } from '@nestjs/common';
import { recipientsOf, type SendNotificationDto } from '@notify/contracts';
import {
  Batcher,
  NotificationsRepository,
  type AppendResult,
  type NewNotification,
  type StoredNotification,
} from '@notify/store';
import { IngestMetrics, type Transport } from '../metrics/ingest-metrics';
import { storeGroupCommit } from '../infrastructure/store-group-commit';
import { DeliveryPublisher } from '../delivery/delivery.publisher';
import { stampNow } from '@notify/amqp';

export interface AcceptedNotification {
  userId: string;
  id: string;
  seq: number;
  /** Answered from an idempotency key: nothing new was stored. */
  duplicate: boolean;
}

/**
 * Stores a producer's notification (one copy per recipient, each with its user's next seq), then
 * routes it. Returns only after the commit, so an acknowledged notification is durable; it also waits
 * for the broker's confirm so that a crash after commit leaves the producer unacknowledged and its
 * retry (same idempotency key) re-publishes the stored copy instead of losing the live push.
 * Counts what it accepted, per transport, whichever transport brought it.
 */
@Injectable()
export class AcceptNotificationsUseCase {
  private readonly writes: Batcher<NewNotification, AppendResult>;

  constructor(
    repository: NotificationsRepository,
    private readonly delivery: DeliveryPublisher,
    private readonly metrics: IngestMetrics,
  ) {
    this.writes = new Batcher(
      (items) => repository.append(items),
      storeGroupCommit((n) => metrics.storeBatchItems.observe({ kind: 'notification' }, n)),
    );
  }

  /**
   * `arrival.idempotencyKey` is the key the transport carries (AMQP message-id); without it the body's
   * idempotencyKey is used.
   */
  async execute(
    dto: SendNotificationDto,
    arrival: { transport: Transport; idempotencyKey?: string; correlationId?: string },
  ): Promise<AcceptedNotification[]> {
    const { transport } = arrival;
    const stop = this.metrics.acceptSeconds.startTimer({ transport });
    const acceptedAt = stampNow();
    const key = arrival.idempotencyKey ?? dto.idempotencyKey;
    const expiresAt = dto.ttlSeconds === undefined ? undefined : new Date(acceptedAt + dto.ttlSeconds * 1000);
    const items: NewNotification[] = recipientsOf(dto).map((userId) => ({
      userId,
      topic: dto.topic,
      title: dto.title,
      body: dto.body,
      data: dto.data,
      idempotencyKey: key,
      expiresAt,
      priority: dto.priority,
    }));
    const results = await this.writes.submit(items);
    const committedAt = stampNow();
    // Duplicates are routed again too: the first attempt may have died between commit and publish.
    // Gateways drop a seq they already delivered.
    const toRoute = results
      .map((r) => r.notification)
      .filter(
        (n): n is StoredNotification =>
          n !== null && (n.expiresAt === null || n.expiresAt.getTime() > acceptedAt),
      );
    await this.delivery.publish(toRoute, { acceptedAt, committedAt, correlationId: arrival.correlationId });
    stop();
    this.metrics.stageSeconds.observe(
      { stage: 'commit', kind: 'notification' },
      (committedAt - acceptedAt) / 1000,
    );
    if (toRoute.length > 0)
      this.metrics.stageSeconds.observe(
        { stage: 'confirm', kind: 'notification' },
        (stampNow() - committedAt) / 1000,
      );
    const duplicates = results.filter((r) => r.duplicate).length;
    this.metrics.accepted.inc({ transport, kind: 'notification' }, results.length - duplicates);
    if (duplicates) this.metrics.duplicates.inc({ transport, kind: 'notification' }, duplicates);
    return results.map(({ userId, id, seq, duplicate }) => ({ userId, id, seq, duplicate }));
  }
}
