import { Inject, Injectable } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import { ERROR_HEADER, Topology } from '@notify/amqp';
import { PUBLISH_CHANNEL } from '../infrastructure/amqp.module';

/**
 * Moves a refused message to notify.ingest.invalid with the reason in `x-notify-error`. Published by
 * us (not by a broker nack) because the broker's dead-lettering cannot add a header; the queue's own
 * dead-letter argument stays as the backstop for messages over the delivery limit.
 */
@Injectable()
export class DeadLetterPublisher {
  constructor(@Inject(PUBLISH_CHANNEL) private readonly channel: ChannelWrapper) {}

  /** Resolves once the broker confirmed the dead letter, after which the original may be acked. */
  async publish(message: ConsumeMessage, reason: string): Promise<void> {
    const p = message.properties;
    await this.channel.publish(Topology.deadLetterExchange, message.fields.routingKey, message.content, {
      contentType: p.contentType,
      contentEncoding: p.contentEncoding,
      messageId: p.messageId,
      correlationId: p.correlationId,
      timestamp: p.timestamp,
      type: p.type,
      appId: p.appId,
      persistent: true,
      headers: {
        ...(p.headers ?? {}),
        [ERROR_HEADER]: reason.slice(0, 4000),
        'x-notify-routing-key': message.fields.routingKey,
        'x-notify-refused-at': new Date().toISOString(),
      },
    });
  }
}
