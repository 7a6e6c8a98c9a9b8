import type { ConsumeMessage } from 'amqplib';
import { DeliveryHeader, DeliveryKind, stampNow } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';
import type { ChannelFanout } from '../core/channels/channel-fanout';
import type { Inbox } from '../core/inbox/inbox';
import type { Presence } from '../core/presence/presence';
import type { ReadChange } from '../core/ports';
import type { SessionRegistry } from '../core/sessions/session-registry';
import type { UserDelivery } from '../core/user-stream/user-delivery';
import type { GatewayMetrics } from '../metrics/gateway-metrics';
import { parsePresenceMessage } from './presence-bus';

/** Messages from the node queue into the core: notifications, channel messages, read state, presence. */
export class BrokerDispatch {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly delivery: UserDelivery,
    private readonly fanout: ChannelFanout,
    private readonly inbox: Inbox,
    private readonly presence: Presence,
    private readonly metrics: GatewayMetrics,
    private readonly log: JsonLogger,
  ) {}

  message(message: ConsumeMessage): void {
    const receivedAt = stampNow();
    const headers = message.properties.headers ?? {};
    if (message.properties.type === DeliveryKind.ChannelMessage) {
      const published = this.fanout.live(
        String(headers[DeliveryHeader.channel]),
        Number(headers[DeliveryHeader.offset]),
        message.content,
      );
      if (published) this.observeStages(headers, receivedAt, 'channel');
      return;
    }
    if (message.properties.type === DeliveryKind.Presence) {
      const event = parsePresenceMessage(message.content);
      if (!event) return this.log.warn('presence message dropped: body is not a presence event');
      const channel = String(headers[DeliveryHeader.channel]);
      return this.presence.event(channel, String(headers[DeliveryHeader.node]), event.joins, event.leaves);
    }
    const first = this.registry.firstOf(String(headers[DeliveryHeader.userId]));
    if (!first) return;
    switch (message.properties.type) {
      case DeliveryKind.Notification: {
        if (this.delivery.live(first, Number(headers[DeliveryHeader.seq]), message.content)) {
          const writtenAt = this.observeStages(headers, receivedAt, 'notification');
          const acceptedAt = Number(headers[DeliveryHeader.acceptedAt]);
          if (acceptedAt > 0) this.metrics.latency.observe((writtenAt - acceptedAt) / 1000);
        }
        return;
      }
      case DeliveryKind.Read: {
        const change = parseReadChange(message.content);
        if (!change) return this.log.warn('read broadcast dropped: body is not a read change');
        return this.inbox.deliverRead(first, Number(headers[DeliveryHeader.readVersion]), change);
      }
    }
  }

  /** Stages of a live event just written; returns when it was written. */
  private observeStages(headers: Record<string, unknown>, receivedAt: number, kind: string): number {
    const writtenAt = stampNow();
    const publishedAt = Number(headers[DeliveryHeader.publishedAt]);
    if (publishedAt > 0)
      this.metrics.stageSeconds.observe({ stage: 'broker', kind }, (receivedAt - publishedAt) / 1000);
    this.metrics.stageSeconds.observe({ stage: 'write', kind }, (writtenAt - receivedAt) / 1000);
    return writtenAt;
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
