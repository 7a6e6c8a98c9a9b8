import { Injectable } from '@nestjs/common';

/**
 * Who is in a presence channel, for `user_count` and `GET channels/{channel}/users`: the one seam
 * between the Pusher HTTP API and the presence store the gateways write.
 */
export abstract class PresenceMembers {
  /** Distinct user ids subscribed to the internal channel (`pusher:<appId>:presence-…`) on live nodes. */
  abstract userIds(internalChannel: string): Promise<string[]>;
}

/**
 * NOT INTEGRATED: a placeholder until the presence table and its repository are merged. Every
 * presence channel reads as empty (`users: []`, `user_count: 0`). Replace this provider in
 * pusher.module.ts with one backed by the presence repository.
 */
@Injectable()
export class PresenceNotIntegrated extends PresenceMembers {
  userIds(): Promise<string[]> {
    return Promise.resolve([]);
  }
}
