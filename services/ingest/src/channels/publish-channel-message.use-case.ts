import { Injectable } from '@nestjs/common';
import { Batcher, ChannelsRepository, type ChannelAppendResult, type NewChannelMessage } from '@notify/store';
import { IngestMetrics } from '../metrics/ingest-metrics';
import { storeGroupCommit } from '../infrastructure/store-group-commit';
import { DeliveryPublisher } from '../delivery/delivery.publisher';

export interface AcceptedChannelMessage {
  id: string;
  offset: number;
  /** Answered from an idempotency key: nothing new was stored. */
  duplicate: boolean;
}

/**
 * Stores a channel message with the channel's next offset, then fans it out through notify.delivery.
 * Acknowledged after the commit and the broker's confirm, like notifications.
 */
@Injectable()
export class PublishChannelMessageUseCase {
  private readonly writes: Batcher<NewChannelMessage, ChannelAppendResult>;

  constructor(
    channels: ChannelsRepository,
    private readonly delivery: DeliveryPublisher,
    metrics: IngestMetrics,
  ) {
    this.writes = new Batcher((items) => channels.appendMany(items), storeGroupCommit(metrics, 'channel'));
  }

  async execute(channel: string, data: unknown, idempotencyKey?: string): Promise<AcceptedChannelMessage> {
    const acceptedAt = Date.now();
    const [result] = await this.writes.submit([{ channel, data, idempotencyKey }]);
    // A duplicate is routed again: the first attempt may have died between commit and publish.
    if (result.message) await this.delivery.publishChannelMessage(result.message, acceptedAt);
    return { id: result.id, offset: result.offset, duplicate: result.duplicate };
  }
}
