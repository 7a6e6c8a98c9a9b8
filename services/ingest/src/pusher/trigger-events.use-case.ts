import { Injectable } from '@nestjs/common';
import { internalChannel, type PusherEventData } from '@notify/pusher';
import { PublishChannelMessageUseCase } from '../channels/publish-channel-message.use-case';
import { PusherChannelInfo, type Attributes } from './channel-info.service';
import type { TriggerEvent } from './trigger-request';

/**
 * Pusher events go the way channel messages go: each (event, channel) is stored as a message of the
 * internal channel with the next offset and published on notify.delivery by the same use case as
 * `POST /v1/channels/{channel}/messages`; the answer follows the commits and confirms.
 */
@Injectable()
export class TriggerPusherEvents {
  constructor(
    private readonly publish: PublishChannelMessageUseCase,
    private readonly info: PusherChannelInfo,
  ) {}

  /** Stores and routes every event, then answers the `info` each asked for, per channel. */
  async execute(
    appId: string,
    events: readonly TriggerEvent[],
    correlationId?: string,
  ): Promise<Record<string, Attributes>[]> {
    await Promise.all(
      events.flatMap((event) => {
        const data: PusherEventData = {
          event: event.name,
          data: event.data,
          ...(event.socketId === undefined ? {} : { exclude: event.socketId }),
        };
        return event.channels.map((channel) =>
          this.publish.execute(internalChannel(appId, channel), data, { transport: 'http', correlationId }),
        );
      }),
    );
    return Promise.all(
      events.map(async (event) => {
        const out: Record<string, Attributes> = {};
        if (event.info.length === 0) return out;
        for (const channel of event.channels)
          out[channel] = await this.info.attributes(appId, channel, event.info);
        return out;
      }),
    );
  }
}
