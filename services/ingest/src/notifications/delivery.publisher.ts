import { Inject, Injectable } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import { channelRoutingKey, DeliveryHeader, DeliveryKind, Topology, userRoutingKey } from '@notify/amqp';
import { encodeMessageFrame, encodeNotificationFrame } from '@notify/protocol';
import { toPayload, type StoredChannelMessage, type StoredNotification } from '@notify/store';
import { JsonLogger } from '@notify/logging';
import { PUBLISH_CHANNEL } from '../infrastructure/amqp.module';
import { IngestMetrics } from '../metrics/ingest-metrics';

/**
 * Routes committed notifications to the gateways holding their users (`user.<id>` on notify.delivery).
 * The body is the client frame, ready to send. Node queues are transient and the database is the
 * source of truth for replay, so delivery messages are not persistent.
 */
@Injectable()
export class DeliveryPublisher {
  private readonly log = new JsonLogger('ingest', { component: 'delivery' });

  constructor(
    @Inject(PUBLISH_CHANNEL) private readonly channel: ChannelWrapper,
    private readonly metrics: IngestMetrics,
  ) {}

  /**
   * Resolves when the broker confirmed every message. A failure is logged, not thrown: the
   * notifications are committed, and a gateway recovers a missed live message from the database
   * (gap fill or resume), so the producer must still get its acknowledgement.
   */
  async publish(notifications: readonly StoredNotification[], acceptedAt: number): Promise<number> {
    const outcomes = await Promise.allSettled(
      notifications.map((n) =>
        this.channel.publish(
          Topology.deliveryExchange,
          userRoutingKey(n.userId),
          Buffer.from(encodeNotificationFrame(toPayload(n))),
          {
            contentType: 'application/json',
            type: DeliveryKind.Notification,
            persistent: false,
            headers: {
              [DeliveryHeader.userId]: n.userId,
              [DeliveryHeader.seq]: n.seq,
              [DeliveryHeader.acceptedAt]: acceptedAt,
            },
          },
        ),
      ),
    );
    const failed = outcomes.filter((o) => o.status === 'rejected');
    if (failed.length > 0) {
      this.metrics.publishFailures.inc(failed.length);
      this.log.warn('delivery publish not confirmed; gateways will recover from the store', {
        failed: failed.length,
        error: (failed[0] as PromiseRejectedResult).reason,
      });
    }
    return notifications.length - failed.length;
  }

  /** Fans a committed channel message out to the nodes with subscribers (`channel.<name>`). */
  async publishChannelMessage(m: StoredChannelMessage, acceptedAt: number): Promise<boolean> {
    try {
      await this.channel.publish(
        Topology.deliveryExchange,
        channelRoutingKey(m.channel),
        Buffer.from(encodeMessageFrame({ ...m, createdAt: m.createdAt.toISOString() })),
        {
          contentType: 'application/json',
          type: DeliveryKind.ChannelMessage,
          persistent: false,
          headers: {
            [DeliveryHeader.channel]: m.channel,
            [DeliveryHeader.offset]: m.offset,
            [DeliveryHeader.acceptedAt]: acceptedAt,
          },
        },
      );
      return true;
    } catch (err) {
      this.metrics.publishFailures.inc();
      this.log.warn('channel publish not confirmed; gateways will recover from the store', { error: err });
      return false;
    }
  }
}
