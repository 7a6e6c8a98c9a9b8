import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { JsonLogger } from '@notify/logging';
import {
  PUSHER_WEBHOOK_QUEUE,
  PUSHER_WEBHOOK_QUEUE_OPTIONS,
  type PusherWebhookMessage,
} from '@notify/pusher';
import type { PusherWebhooks } from '../core/ports';
import type { NodeQueue } from './node-queue';

/** Webhook events waiting for the broker's confirm at most; more are dropped (while disconnected). */
export const MAX_PENDING_WEBHOOKS = 10_000;

/**
 * Publishes webhook events to PUSHER_WEBHOOK_QUEUE (default exchange, routing key = the queue's
 * name), persistent, on a confirm channel of its own: ingest consumes, batches and POSTs them.
 */
export class BrokerPusherWebhooks implements PusherWebhooks {
  private channel: ChannelWrapper | null = null;
  private pending = 0;
  private dropped = 0;

  constructor(
    private readonly queue: NodeQueue,
    private readonly log: JsonLogger,
  ) {}

  /** After the node queue's start: opens the channel, declaring the queue as ingest declares it. */
  start(): void {
    this.channel = this.queue.createChannel({
      name: 'pusher-webhooks',
      confirm: true,
      setup: (ch: ConfirmChannel) => ch.assertQueue(PUSHER_WEBHOOK_QUEUE, PUSHER_WEBHOOK_QUEUE_OPTIONS),
    });
    this.channel.on('error', (err) => this.log.warn('webhook channel error', { error: err }));
  }

  publish(message: PusherWebhookMessage): void {
    // The wrapper buffers while disconnected: bounded here, so an outage costs events, not memory.
    if (!this.channel || this.pending >= MAX_PENDING_WEBHOOKS) {
      if (this.dropped++ % 1000 === 0)
        this.log.warn('webhook events dropped: broker unavailable', { dropped: this.dropped });
      return;
    }
    this.pending++;
    this.channel
      .sendToQueue(PUSHER_WEBHOOK_QUEUE, Buffer.from(JSON.stringify(message)), {
        persistent: true,
        contentType: 'application/json',
      })
      .catch((err: unknown) => this.log.warn('webhook event not published', { error: err }))
      .finally(() => this.pending--);
  }

  async close(): Promise<void> {
    await this.channel?.close();
  }
}
