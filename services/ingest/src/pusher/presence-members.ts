import { Injectable } from '@nestjs/common';
import { PresenceRepository } from '@notify/store';
import { IngestConfig } from '../config/ingest.config';

/**
 * Who is in a presence channel, for `user_count` and `GET channels/{channel}/users`: the one seam
 * between the Pusher HTTP API and the presence store the gateways write.
 */
export abstract class PresenceMembers {
  /** Distinct user ids subscribed to the internal channel (`pusher:<appId>:presence-…`) on live nodes. */
  abstract userIds(internalChannel: string): Promise<string[]>;
}

/**
 * The members the gateways recorded (docs/architecture.md, "Presence"), on nodes whose heartbeat is
 * fresh; at most NOTIFY_PRESENCE_MAX_MEMBERS, the gateways' own limit per channel.
 */
@Injectable()
export class StoredPresenceMembers extends PresenceMembers {
  constructor(
    private readonly presence: PresenceRepository,
    private readonly config: IngestConfig,
  ) {
    super();
  }

  async userIds(internalChannel: string): Promise<string[]> {
    const members = await this.presence.channelMembers(
      internalChannel,
      this.config.presenceStaleMs,
      this.config.presenceMaxMembers,
    );
    return members.map((m) => m.userId);
  }
}
