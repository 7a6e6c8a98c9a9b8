import type { ConsumeMessage } from 'amqplib';
import { DeliveryHeader, DeliveryKind } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';
import type { ChannelFanout } from '../core/channels/channel-fanout';
import type { Inbox } from '../core/inbox/inbox';
import type { ReadChange } from '../core/ports';
import type { SessionRegistry } from '../core/sessions/session-registry';
import type { UserDelivery } from '../core/user-stream/user-delivery';
import type { GatewayMetrics } from '../metrics/gateway-metrics';

/** Messages from the node queue into the core: notifications, channel messages, read state. */
export class BrokerDispatch {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly delivery: UserDelivery,
    private readonly fanout: ChannelFanout,
    private readonly inbox: Inbox,
    private readonly metrics: GatewayMetrics,
    private readonly log: JsonLogger,
  ) {}

  message(message: ConsumeMessage): void {
    const headers = message.properties.headers ?? {};
    if (message.properties.type === DeliveryKind.ChannelMessage) {
      this.fanout.live(
        String(headers[DeliveryHeader.channel]),
        Number(headers[DeliveryHeader.offset]),
        message.content,
      );
      return;
    }
    const first = this.registry.firstOf(String(headers[DeliveryHeader.userId]));
    if (!first) return;
    switch (message.properties.type) {
      case DeliveryKind.Notification: {
        this.delivery.live(first, Number(headers[DeliveryHeader.seq]), message.content);
        const acceptedAt = Number(headers[DeliveryHeader.acceptedAt]);
        if (acceptedAt > 0) this.metrics.latency.observe((Date.now() - acceptedAt) / 1000);
        return;
      }
      case DeliveryKind.Read: {
        const change = parseReadChange(message.content);
        if (!change) return this.log.warn('read broadcast dropped: body is not a read change');
        return this.inbox.deliverRead(first, Number(headers[DeliveryHeader.readVersion]), change);
      }
    }
  }
}

/** A read broadcast's body (see BrokerBindings.publishRead), or null when it is not one. */
function parseReadChange(body: Buffer): ReadChange | null {
  try {
    const v = JSON.parse(body.toString('utf8')) as Partial<ReadChange> | null;
    if (!v || !Array.isArray(v.ids) || typeof v.unread !== 'number' || typeof v.asOfSeq !== 'number')
      return null;
    return { ids: v.ids, unread: v.unread, asOfSeq: v.asOfSeq };
  } catch {
    return null;
  }
}
