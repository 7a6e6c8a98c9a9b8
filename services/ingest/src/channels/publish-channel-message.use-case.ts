import { Injectable } from '@nestjs/common';
import { Batcher, ChannelsRepository, type ChannelAppendResult, type NewChannelMessage } from '@notify/store';
import { IngestMetrics, type Transport } from '../metrics/ingest-metrics';
import { storeGroupCommit } from '../infrastructure/store-group-commit';
import { DeliveryPublisher } from '../delivery/delivery.publisher';
import { stampNow } from '@notify/amqp';

export interface AcceptedChannelMessage {
  id: string;
  offset: number;
  /** Answered from an idempotency key: nothing new was stored. */
  duplicate: boolean;
}

/**
 * Stores a channel message with the channel's next offset, then fans it out through notify.delivery.
 * Acknowledged after the commit and the broker's confirm, like notifications, and counted here
 * whichever transport brought it.
 */
@Injectable()
export class PublishChannelMessageUseCase {
  private readonly writes: Batcher<NewChannelMessage, ChannelAppendResult>;

  constructor(
    channels: ChannelsRepository,
    private readonly delivery: DeliveryPublisher,
    private readonly metrics: IngestMetrics,
  ) {
    this.writes = new Batcher(
      (items) => channels.appendMany(items),
      storeGroupCommit((n) => metrics.storeBatchItems.observe({ kind: 'channel' }, n)),
    );
  }

  /** `arrival.idempotencyKey` is the producer's key, from the transport or the body. */
  async execute(
    channel: string,
    data: unknown,
    arrival: { transport: Transport; idempotencyKey?: string; correlationId?: string },
  ): Promise<AcceptedChannelMessage> {
    const { transport, idempotencyKey } = arrival;
    const stop = this.metrics.acceptSeconds.startTimer({ transport });
    const acceptedAt = stampNow();
    const [result] = await this.writes.submit([{ channel, data, idempotencyKey }]);
    const committedAt = stampNow();
    // A duplicate is routed again: the first attempt may have died between commit and publish.
    if (result.message)
      await this.delivery.publishChannelMessage(result.message, {
        acceptedAt,
        committedAt,
        correlationId: arrival.correlationId,
      });
    stop();
    this.metrics.stageSeconds.observe(
      { stage: 'commit', kind: 'channel' },
      (committedAt - acceptedAt) / 1000,
    );
    if (result.message)
      this.metrics.stageSeconds.observe(
        { stage: 'confirm', kind: 'channel' },
        (stampNow() - committedAt) / 1000,
      );
    (result.duplicate ? this.metrics.duplicates : this.metrics.accepted).inc({ transport, kind: 'channel' });
    return { id: result.id, offset: result.offset, duplicate: result.duplicate };
  }
}
