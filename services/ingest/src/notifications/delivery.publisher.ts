import { Inject, Injectable } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import { channelRoutingKey, DeliveryHeader, DeliveryKind, Topology, userRoutingKey } from '@notify/amqp';
import { encodeMessageFrame, encodeNotificationFrame } from '@notify/protocol';
import { toPayload, type StoredChannelMessage, type StoredNotification } from '@notify/store';
import { JsonLogger } from '@notify/logging';
import { PUBLISH_CHANNEL } from '../infrastructure/amqp.module';
import { IngestMetrics } from '../metrics/ingest-metrics';

interface DeliveryMessage {
  routingKey: string;
  frame: string;
  kind: DeliveryKind;
  headers: Record<string, string | number>;
}

/**
 * Routes committed events to the gateways that need them on notify.delivery: `user.<id>` for
 * notifications, `channel.<name>` for channel messages. The body is the client frame, ready to send.
 * Node queues are transient and the database is the source of truth for replay, so these messages
 * are not persistent.
 */
@Injectable()
export class DeliveryPublisher {
  private readonly log = new JsonLogger('ingest', { component: 'delivery' });

  constructor(
    @Inject(PUBLISH_CHANNEL) private readonly channel: ChannelWrapper,
    private readonly metrics: IngestMetrics,
  ) {}

  publish(notifications: readonly StoredNotification[], acceptedAt: number): Promise<number> {
    return this.send(
      notifications.map((n) => ({
        routingKey: userRoutingKey(n.userId),
        frame: encodeNotificationFrame(toPayload(n)),
        kind: DeliveryKind.Notification,
        headers: {
          [DeliveryHeader.userId]: n.userId,
          [DeliveryHeader.seq]: n.seq,
          [DeliveryHeader.acceptedAt]: acceptedAt,
        },
      })),
    );
  }

  publishChannelMessage(m: StoredChannelMessage, acceptedAt: number): Promise<number> {
    return this.send([
      {
        routingKey: channelRoutingKey(m.channel),
        frame: encodeMessageFrame({ ...m, createdAt: m.createdAt.toISOString() }),
        kind: DeliveryKind.ChannelMessage,
        headers: {
          [DeliveryHeader.channel]: m.channel,
          [DeliveryHeader.offset]: m.offset,
          [DeliveryHeader.acceptedAt]: acceptedAt,
        },
      },
    ]);
  }

  /**
   * Resolves with how many the broker confirmed. A failure is logged, not thrown: the events are
   * committed and gateways recover a missed live message from the store (gap fill or resume), so the
   * producer must still get its acknowledgement.
   */
  private async send(messages: readonly DeliveryMessage[]): Promise<number> {
    const outcomes = await Promise.allSettled(
      messages.map((m) =>
        this.channel.publish(Topology.deliveryExchange, m.routingKey, Buffer.from(m.frame), {
          contentType: 'application/json',
          type: m.kind,
          persistent: false,
          headers: m.headers,
        }),
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
    return messages.length - failed.length;
  }
}
