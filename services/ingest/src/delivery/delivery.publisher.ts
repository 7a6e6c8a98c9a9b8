import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Options } from 'amqplib';
import {
  channelRoutingKey,
  DeliveryHeader,
  DeliveryKind,
  stampNow,
  Topology,
  userRoutingKey,
} from '@notify/amqp';
import {
  encodeMessageFrame,
  encodeNotificationFrame,
  encodePreferencesFrame,
  encodeReadFrame,
  encodeRetractedFrame,
  type Preferences,
} from '@notify/protocol';
import {
  toChannelPayload,
  toPayload,
  type ReadChange,
  type StoredChannelMessage,
  type StoredNotification,
} from '@notify/store';
import { JsonLogger } from '@notify/logging';
import { PUBLISH_CHANNEL } from '../infrastructure/amqp.module';
import { IngestMetrics } from '../metrics/ingest-metrics';

/** When an event was accepted and committed (stampNow, ms since epoch), carried in its delivery headers. */
export interface EventStamps {
  acceptedAt: number;
  committedAt: number;
  /** The producer's request or message (x-correlation-id), for the gateways' log lines. */
  correlationId?: string;
}

interface DeliveryMessage {
  routingKey: string;
  frame: string;
  kind: DeliveryKind;
  headers: Record<string, string | number>;
}

/** What the publisher needs of the confirm channel (amqp-connection-manager's ChannelWrapper). */
export interface DeliveryChannel {
  on(event: 'connect', listener: () => void): unknown;
  /** Resolves once the broker confirmed the message; rejects when it did not in time. */
  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<unknown>;
}

/**
 * Unconfirmed deliveries kept for another try, by count and by frame bytes (a fan-out of large
 * notifications reaches the byte bound first); past either the oldest go (the store still has them).
 */
const MAX_PENDING = 100_000;
export const MAX_PENDING_BYTES = 64 * 1024 * 1024;
const RETRY_INTERVAL_MS = 5_000;

/**
 * Routes committed events to the gateways that need them on notify.delivery: `user.<id>` for
 * notifications, `channel.<name>` for channel messages. The body is the client frame, ready to send.
 * Node queues are transient and the database is the source of truth for replay, so these messages
 * are not persistent.
 */
@Injectable()
export class DeliveryPublisher implements OnApplicationShutdown {
  private readonly log = new JsonLogger('ingest', { component: 'delivery' });
  /** Deliveries the broker did not confirm in time, published again after a reconnect. */
  private pending: DeliveryMessage[] = [];
  /** The frames' length in `pending` (UTF-16 units, a byte each for the ASCII JSON mostly sent). */
  private pendingBytes = 0;
  private readonly retryTimer: NodeJS.Timeout;

  constructor(
    @Inject(PUBLISH_CHANNEL) private readonly channel: DeliveryChannel,
    private readonly metrics: IngestMetrics,
  ) {
    // A connected device would otherwise miss a live notification whose publish failed until the
    // user's next one (gap fill) or its next reconnect; gateways drop seqs they already sent.
    channel.on('connect', () => void this.retryPending());
    this.retryTimer = setInterval(() => void this.retryPending(), RETRY_INTERVAL_MS);
    this.retryTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.retryTimer);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Drops the oldest pending deliveries until both bounds hold. */
  private dropOldestPastBounds(): void {
    let drop = Math.max(0, this.pending.length - MAX_PENDING);
    let bytes = this.pendingBytes;
    for (let i = 0; i < drop; i++) bytes -= this.pending[i].frame.length;
    while (drop < this.pending.length && bytes > MAX_PENDING_BYTES)
      bytes -= this.pending[drop++].frame.length;
    if (drop === 0) return;
    this.pending.splice(0, drop);
    this.pendingBytes = bytes;
  }

  private async retryPending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const confirmed = await this.send(batch);
    if (confirmed > 0)
      this.log.info('unconfirmed deliveries published again', { confirmed, left: this.pending.length });
  }

  publish(notifications: readonly StoredNotification[], stamps: EventStamps): Promise<number> {
    return this.send(
      notifications.map((n) => ({
        routingKey: userRoutingKey(n.userId),
        frame: encodeNotificationFrame(toPayload(n)),
        kind: DeliveryKind.Notification,
        headers: {
          [DeliveryHeader.userId]: n.userId,
          [DeliveryHeader.seq]: n.seq,
          [DeliveryHeader.acceptedAt]: stamps.acceptedAt,
          [DeliveryHeader.committedAt]: stamps.committedAt,
          ...correlationHeader(stamps),
        },
      })),
    );
  }

  publishChannelMessage(m: StoredChannelMessage, stamps: EventStamps): Promise<number> {
    return this.send([
      {
        routingKey: channelRoutingKey(m.channel),
        frame: encodeMessageFrame(toChannelPayload(m)),
        kind: DeliveryKind.ChannelMessage,
        headers: {
          [DeliveryHeader.channel]: m.channel,
          [DeliveryHeader.offset]: m.offset,
          [DeliveryHeader.acceptedAt]: stamps.acceptedAt,
          [DeliveryHeader.committedAt]: stamps.committedAt,
          ...correlationHeader(stamps),
        },
      },
    ]);
  }

  /**
   * A read-state change made by a backend, exactly as a gateway broadcasts a device's: gateways
   * deliver it to every socket of the user and drop it when older than what they sent.
   */
  publishRead(userId: string, change: ReadChange): Promise<number> {
    return this.send([this.userChange(userId, encodeReadFrame(change), DeliveryKind.Read, change.version)]);
  }

  /** A retraction: gateways send every socket of the user the `retracted` frame. */
  publishRetracted(userId: string, change: ReadChange): Promise<number> {
    const frame = encodeRetractedFrame(change.ids, change);
    return this.send([this.userChange(userId, frame, DeliveryKind.Retracted, change.version)]);
  }

  /** New preferences: gateways send every socket of the user the `preferences` frame. */
  publishPreferences(userId: string, preferences: Preferences, version: number): Promise<number> {
    const frame = encodePreferencesFrame(preferences, version);
    return this.send([this.userChange(userId, frame, DeliveryKind.Preferences)]);
  }

  private userChange(
    userId: string,
    frame: string,
    kind: DeliveryKind,
    readVersion?: number,
  ): DeliveryMessage {
    const headers: Record<string, string | number> = { [DeliveryHeader.userId]: userId };
    if (readVersion !== undefined) headers[DeliveryHeader.readVersion] = readVersion;
    return { routingKey: userRoutingKey(userId), frame, kind, headers };
  }

  /**
   * Resolves with how many the broker confirmed. A failure is logged, not thrown: the events are
   * committed and gateways recover a missed live message from the store (gap fill or resume), so the
   * producer must still get its acknowledgement.
   */
  private async send(messages: readonly DeliveryMessage[]): Promise<number> {
    const publishedAt = stampNow();
    // A retried message keeps its first attempt's stamp: the broker stage then shows the wait.
    for (const m of messages) m.headers[DeliveryHeader.publishedAt] ??= publishedAt;
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
      outcomes.forEach((o, i) => {
        if (o.status === 'fulfilled') return;
        this.pending.push(messages[i]);
        this.pendingBytes += messages[i].frame.length;
      });
      this.dropOldestPastBounds();
      this.metrics.publishFailures.inc(failed.length);
      this.log.warn('delivery publish not confirmed; gateways will recover from the store', {
        failed: failed.length,
        error: (failed[0] as PromiseRejectedResult).reason,
      });
    }
    return messages.length - failed.length;
  }
}

/** The request's or message's correlation id (correlation.middleware.ts, ingest.consumer.ts), when set. */
function correlationHeader(stamps: EventStamps): Record<string, string> {
  return stamps.correlationId === undefined ? {} : { [DeliveryHeader.correlationId]: stamps.correlationId };
}
