import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { JsonLogger } from '@notify/logging';
import {
  isPusherWebhookMessage,
  PUSHER_WEBHOOK_QUEUE,
  PUSHER_WEBHOOK_QUEUE_OPTIONS,
  type PusherApps,
} from '@notify/pusher';
import { IngestConfig } from '../config/ingest.config';
import { AMQP_CONNECTION } from '../infrastructure/amqp.module';
import { fetchWebhook, WebhookBatcher } from './webhook-batcher';

/** Unacknowledged webhook events one ingest holds at most (they wait in the batcher). */
const PREFETCH = 500;

/**
 * Consumes the gateways' webhook events from PUSHER_WEBHOOK_QUEUE when NOTIFY_PUSHER_WEBHOOK_URL is
 * set (otherwise the queue is neither declared nor read), and hands them to the batcher. A message
 * that is not a webhook event, or names no configured app, is logged and dropped.
 */
@Injectable()
export class PusherWebhookConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new JsonLogger('ingest', { component: 'pusher-webhooks' });
  private readonly apps: PusherApps;
  private readonly url: string | undefined;
  private batcher: WebhookBatcher | undefined;
  private channel: ChannelWrapper | undefined;

  constructor(
    @Inject(AMQP_CONNECTION) private readonly connection: AmqpConnectionManager,
    config: IngestConfig,
  ) {
    this.apps = config.pusher.apps;
    this.url = config.pusher.webhookUrl;
  }

  onApplicationBootstrap(): void {
    if (this.url === undefined || !this.apps.enabled) return;
    const batcher = new WebhookBatcher({ url: this.url, post: fetchWebhook });
    this.batcher = batcher;
    this.channel = this.connection.createChannel({
      name: 'pusher-webhooks',
      setup: async (ch: ConfirmChannel) => {
        // The broker redelivers the unacknowledged events of a closed channel on the next one.
        ch.once('close', () => {
          const dropped = batcher.drop(ch);
          if (dropped > 0)
            this.log.info('webhook events left to their redelivery after the channel closed', { dropped });
        });
        await ch.assertQueue(PUSHER_WEBHOOK_QUEUE, PUSHER_WEBHOOK_QUEUE_OPTIONS);
        await ch.prefetch(PREFETCH);
        await ch.consume(PUSHER_WEBHOOK_QUEUE, (m) => m && this.take(ch, m, batcher));
      },
    });
    this.channel.on('error', (err: Error) => this.log.error('webhook consumer failed', { error: err }));
  }

  async onApplicationShutdown(): Promise<void> {
    this.batcher?.stop();
    await this.channel?.close();
  }

  private take(ch: ConfirmChannel, m: ConsumeMessage, batcher: WebhookBatcher): void {
    // After a reconnect the message is redelivered on the new channel; acking on the old one fails.
    const ack = (): void => {
      try {
        ch.ack(m);
      } catch {
        /* the channel closed: the broker redelivers */
      }
    };
    let message: unknown;
    try {
      message = JSON.parse(m.content.toString('utf8'));
    } catch {
      message = undefined;
    }
    if (!isPusherWebhookMessage(message)) {
      this.log.warn('dropped a message that is not a webhook event', { bytes: m.content.length });
      return ack();
    }
    const app = this.apps.withId(message.appId);
    if (!app) {
      this.log.warn('dropped a webhook event of an unknown app', { app: message.appId.slice(0, 64) });
      return ack();
    }
    batcher.add(app, message.event, ack, ch);
  }
}
