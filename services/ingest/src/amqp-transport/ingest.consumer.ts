import { setTimeout as delay } from 'node:timers/promises';
import { Controller, type BeforeApplicationShutdown } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RmqContext } from '@nestjs/microservices';
import type { Channel, ConsumeMessage } from 'amqplib';
import { correlationIdFrom, JsonLogger } from '@notify/logging';
import { IngestConfig } from '../config/ingest.config';
import { PublishChannelMessageUseCase } from '../channels/publish-channel-message.use-case';
import { AcceptNotificationsUseCase } from '../notifications/accept-notifications.use-case';
import { IngestMetrics } from '../metrics/ingest-metrics';
import { closedSignal } from './channel-closed';
import { DeadLetterPublisher } from './dead-letter.publisher';
import { backoff, nextStep, type StoreOutcome } from './ingest-decision';
import { messageIdKey, parseIngestMessage, type ParsedIngestMessage } from './ingest-message';
import { INGEST_PATTERN } from './plain-json.deserializer';

/**
 * AMQP transport for notify.ingest, with manual acks: a message is acked only after its commit (or
 * after it was dead-lettered with a reason). Transient failures are retried here, holding the
 * message, rather than nacked back into the queue in a tight loop, until it is stored, ingest drains,
 * or the channel it came on closes: the broker then redelivers it to the reconnected consumer, and a
 * copy still held here would be stored a second time (without a message-id) and could not be acked.
 */
@Controller()
export class IngestConsumer implements BeforeApplicationShutdown {
  private readonly log = new JsonLogger('ingest', { component: 'amqp-consumer' });
  private readonly inFlight = new Set<Promise<void>>();
  private draining = false;

  constructor(
    private readonly config: IngestConfig,
    private readonly accept: AcceptNotificationsUseCase,
    private readonly channels: PublishChannelMessageUseCase,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly metrics: IngestMetrics,
  ) {}

  @EventPattern(INGEST_PATTERN)
  handle(@Payload() body: unknown, @Ctx() context: RmqContext): Promise<void> {
    const message = context.getMessage() as ConsumeMessage;
    // The producer's correlation-id property, else its message-id (the idempotency key), else new.
    const correlationId = correlationIdFrom(
      message.properties.correlationId || message.properties.messageId || undefined,
    );
    const work = this.process(body, message, context.getChannelRef() as Channel, correlationId);
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  /** Lets in-flight messages finish (commit and ack) before the broker connection closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    await Promise.allSettled([...this.inFlight]);
  }

  private async process(
    body: unknown,
    message: ConsumeMessage,
    channel: Channel,
    correlationId: string,
  ): Promise<void> {
    // While draining, a new message stays unacked and returns to the queue when the channel closes.
    if (this.draining) return;
    // The message-id is the idempotency key: one it cannot be refuses the message, as in a body.
    const messageId = messageIdKey(message.properties.messageId);
    const parsed: ParsedIngestMessage = messageId.ok
      ? await parseIngestMessage(
          message.fields.routingKey,
          body,
          message.content.length,
          this.config.bodyLimitBytes,
          this.config.maxRecipients,
        )
      : { kind: 'invalid', reason: messageId.reason };
    const key = messageId.ok ? messageId.key : undefined;
    const closed = closedSignal(channel);
    // Nothing new is started once ingest drains or the message's channel closed: the broker redelivers.
    const stopping = (): boolean => this.draining || closed.aborted;
    for (let attempt = 0; ; attempt++) {
      const outcome =
        parsed.kind === 'invalid' || stopping() ? null : await this.store(parsed, key, correlationId);
      const step = nextStep(parsed, outcome, attempt, stopping());
      switch (step.do) {
        case 'ack':
          this.log.debug('message stored', { routingKey: message.fields.routingKey, correlationId });
          return this.ack(channel, message);
        case 'leave':
          if (closed.aborted)
            this.log.debug('channel closed; the message is left to its redelivery', { correlationId });
          return;
        case 'dead-letter':
          if (step.unexpected !== undefined)
            this.log.error('message refused after an unexpected error', {
              correlationId,
              error: step.unexpected,
            });
          return this.refuse(message, channel, step.reason, correlationId);
        case 'retry':
          this.metrics.storeRetries.inc();
          this.log.warn('store unavailable; retrying', { attempt, correlationId, error: step.error });
          await sleep(step.afterMs, closed);
      }
    }
  }

  /** Stores and routes one valid message; reports what the store or broker threw. */
  private async store(
    parsed: Exclude<ParsedIngestMessage, { kind: 'invalid' }>,
    key: string | undefined,
    correlationId: string,
  ): Promise<StoreOutcome> {
    try {
      if (parsed.kind === 'notification') {
        await this.accept.execute(parsed.dto, { transport: 'amqp', idempotencyKey: key, correlationId });
      } else {
        await this.channels.execute(parsed.channel, parsed.dto.data, {
          transport: 'amqp',
          idempotencyKey: key ?? parsed.dto.idempotencyKey,
          correlationId,
        });
      }
      return { stored: true };
    } catch (error) {
      return { stored: false, error };
    }
  }

  /**
   * An ack that cannot be sent (its channel died with the connection) is not a failure of the
   * message: the broker redelivers it to the reconnected consumer, and the retry stores nothing new
   * when the producer set message-id. It must never send a committed message to the dead letters.
   */
  private ack(channel: Channel, message: ConsumeMessage): void {
    try {
      channel.ack(message);
    } catch (err) {
      this.log.warn('ack lost with its channel; the broker will redeliver', {
        routingKey: message.fields.routingKey,
        messageId: message.properties.messageId,
        error: err,
      });
    }
  }

  private async refuse(
    message: ConsumeMessage,
    channel: Channel,
    reason: string,
    correlationId: string,
  ): Promise<void> {
    const closed = closedSignal(channel);
    // Once the channel closed the broker redelivers the message, and that copy is refused anew.
    for (let attempt = 0; !this.draining && !closed.aborted; attempt++) {
      try {
        await this.deadLetters.publish(message, reason);
        this.ack(channel, message);
        this.metrics.deadLettered.inc();
        this.log.warn('message dead-lettered', {
          routingKey: message.fields.routingKey,
          reason,
          correlationId,
        });
        return;
      } catch (err) {
        this.log.warn('dead-letter publish failed; retrying', { attempt, error: err });
        await sleep(backoff(attempt), closed);
      }
    }
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);
