import { Injectable } from '@nestjs/common';
import { ChannelsRepository } from '@notify/store';
import { DeliveryPublisher } from '../notifications/delivery.publisher';

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
  constructor(
    private readonly channels: ChannelsRepository,
    private readonly delivery: DeliveryPublisher,
  ) {}

  async execute(channel: string, data: unknown, idempotencyKey?: string): Promise<AcceptedChannelMessage> {
    const acceptedAt = Date.now();
    const result = await this.channels.append(channel, data, idempotencyKey);
    // A duplicate is routed again: the first attempt may have died between commit and publish.
    if (result.message) await this.delivery.publishChannelMessage(result.message, acceptedAt);
    return { id: result.id, offset: result.offset, duplicate: result.duplicate };
  }
}
