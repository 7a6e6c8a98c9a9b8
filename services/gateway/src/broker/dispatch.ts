import type { ConsumeMessage } from 'amqplib';
import { DeliveryHeader, DeliveryKind, stampNow } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';
import type { ChannelFanout } from '../core/channels/channel-fanout';
import { parsePreferences } from '@notify/protocol';
import type { Inbox } from '../core/inbox/inbox';
import type { UserPreferences } from '../core/inbox/user-preferences';
import type { PreferencesChange, ReadChange } from '../core/ports';
import type { Presence } from '../core/presence/presence';
import type { SessionRegistry } from '../core/sessions/session-registry';
import type { UserDelivery } from '../core/user-stream/user-delivery';
import type { GatewayMetrics } from '../metrics/gateway-metrics';
import { parsePresenceMessage } from './presence-bus';

/**
 * A handler for another kind of delivery message (a protocol's own, e.g. Pusher client events),
 * given the routing key it came with, its headers and body.
 */
export type DeliveryHandler = (routingKey: string, headers: Record<string, unknown>, body: Buffer) => void;

/**
 * Messages from the node queue into the core: notifications, channel messages, read state,
 * retractions, preferences and presence.
 */
export class BrokerDispatch {
  /** Read once: the level does not change while the process runs, and this is the hot path. */
  private readonly debug: boolean;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly delivery: UserDelivery,
    private readonly fanout: ChannelFanout,
    private readonly inbox: Inbox,
    private readonly preferences: UserPreferences,
    private readonly nodeId: string,
    private readonly presence: Presence,
    private readonly metrics: GatewayMetrics,
    private readonly log: JsonLogger,
    /** By AMQP `type`, for kinds not handled above. */
    private readonly otherKinds: ReadonlyMap<string, DeliveryHandler> = new Map(),
  ) {
    this.debug = log.debugEnabled;
  }

  message(message: ConsumeMessage): void {
    const receivedAt = stampNow();
    const headers = message.properties.headers ?? {};
    if (this.debug) this.logReceived(message.properties.type as string, headers);
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
    const other = this.otherKinds.get(message.properties.type as string);
    if (other) return other(message.fields.routingKey, headers, message.content);
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
        if (!change)
          return this.log.warn('read broadcast dropped: body is not a read change', {
            correlationId: headers[DeliveryHeader.correlationId],
          });
        return this.inbox.deliverRead(first, Number(headers[DeliveryHeader.readVersion]), change);
      }
      case DeliveryKind.Retracted: {
        const change = parseReadChange(message.content);
        if (!change) return this.log.warn('retraction dropped: body is not a retraction');
        return this.inbox.deliverRetracted(first, Number(headers[DeliveryHeader.readVersion]), change);
      }
      case DeliveryKind.Preferences: {
        // This node told its own sockets when it stored the change.
        if (headers[DeliveryHeader.originNode] === this.nodeId) return;
        const change = parsePreferencesChange(message.content);
        if (!change) return this.log.warn('preferences broadcast dropped: body is not a preferences frame');
        return this.preferences.deliver(first, change);
      }
    }
  }

  private logReceived(kind: string, headers: Record<string, unknown>): void {
    this.log.debug('delivery received', {
      kind,
      userId: headers[DeliveryHeader.userId],
      seq: headers[DeliveryHeader.seq],
      channel: headers[DeliveryHeader.channel],
      offset: headers[DeliveryHeader.offset],
      correlationId: headers[DeliveryHeader.correlationId],
    });
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

/** A preferences broadcast's body (the `preferences` frame), or null when it is not one. */
function parsePreferencesChange(body: Buffer): PreferencesChange | null {
  try {
    const v = JSON.parse(body.toString('utf8')) as Record<string, unknown> | null;
    if (!v || typeof v !== 'object' || typeof v.version !== 'number') return null;
    const parsed = parsePreferences(v);
    return parsed.ok ? { preferences: parsed.preferences, version: v.version } : null;
  } catch {
    return null;
  }
}

/**
 * A read broadcast's or retraction's body (see BrokerBindings.publishRead), or null when it is not
 * one.
 */
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
