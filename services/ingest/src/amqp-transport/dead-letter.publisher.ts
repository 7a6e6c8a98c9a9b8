import { Inject, Injectable } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage, Options } from 'amqplib';
import { DROPPED_HEADER, ERROR_HEADER, Topology } from '@notify/amqp';
import { PUBLISH_CHANNEL } from '../infrastructure/amqp.module';
import { publishEncodingError } from './publish-encoding';

/** The reason in `x-notify-error` is cut to this many characters. */
export const MAX_REASON_LENGTH = 4000;
/** An AMQP routing key (a shortstr) holds at most this many bytes. */
const MAX_ROUTING_KEY_BYTES = 255;

export interface DeadLetter {
  routingKey: string;
  options: Options.Publish;
}

/**
 * What is published to notify.ingest.dlx for `message`, refused for `reason`: the body, the producer's
 * properties and headers, and ours (the reason, the routing key, the time). Always something amqplib
 * encodes: when the producer's headers would not fit beside ours (amqplib encodes a table of at most
 * 64 KiB), they are dropped; when a property of theirs would not encode again either, so are the
 * properties. `x-notify-dropped` then says what went and why.
 */
export function deadLetterOf(message: ConsumeMessage, reason: string, refusedAt: Date): DeadLetter {
  const { fields, properties: p, content } = message;
  const ours = {
    [ERROR_HEADER]: reason.slice(0, MAX_REASON_LENGTH),
    'x-notify-routing-key': fields.routingKey,
    'x-notify-refused-at': refusedAt.toISOString(),
  };
  // The exchange is a fanout: the key only informs, and x-notify-routing-key carries it whole.
  const routingKey = Buffer.byteLength(fields.routingKey) <= MAX_ROUTING_KEY_BYTES ? fields.routingKey : '';
  const properties: Options.Publish = {
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    messageId: p.messageId,
    correlationId: p.correlationId,
    timestamp: p.timestamp,
    type: p.type,
    appId: p.appId,
    persistent: true,
  };
  const refusal = (options: Options.Publish): Error | null =>
    publishEncodingError(Topology.deadLetterExchange, routingKey, content.length, options);

  const whole = { ...properties, headers: { ...(p.headers ?? {}), ...ours } };
  const wholeRefused = refusal(whole);
  if (wholeRefused === null) return { routingKey, options: whole };
  const withoutHeaders = {
    ...properties,
    headers: { ...ours, [DROPPED_HEADER]: `the producer's headers: ${wholeRefused.message}` },
  };
  const withoutHeadersRefused = refusal(withoutHeaders);
  if (withoutHeadersRefused === null) return { routingKey, options: withoutHeaders };
  return {
    routingKey,
    options: {
      persistent: true,
      headers: {
        ...ours,
        [DROPPED_HEADER]: `the producer's headers and properties: ${withoutHeadersRefused.message}`,
      },
    },
  };
}

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
    const { routingKey, options } = deadLetterOf(message, reason, new Date());
    await this.channel.publish(Topology.deadLetterExchange, routingKey, message.content, options);
  }
}
