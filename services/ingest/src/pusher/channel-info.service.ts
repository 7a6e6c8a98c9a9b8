import { BadRequestException, Injectable } from '@nestjs/common';
import {
  fromInternalChannel,
  internalChannel,
  internalPrefix,
  isCacheChannel,
  isPusherEventData,
  pusherChannelKind,
} from '@notify/pusher';
import { ChannelOccupancyRepository, ChannelsRepository } from '@notify/store';
import { IngestConfig } from '../config/ingest.config';
import { PresenceMembers } from './presence-members';

export type ChannelAttribute = 'user_count' | 'subscription_count';
export type Attributes = Partial<Record<ChannelAttribute, number>>;

/** How long a cache channel's last event is served (Pusher's cache TTL: 30 minutes). */
export const CACHE_TTL_SECONDS = 1800;

export interface ChannelInfo extends Attributes {
  occupied: boolean;
  cache?: { event: string; data: string; ttl: number };
}

const isPresence = (name: string): boolean => pusherChannelKind(name) === 'presence';

/**
 * What the Pusher HTTP API tells about channels: occupancy from the gateways' reports
 * (channel_occupancy, live nodes only), members from the presence store, the last event of a cache
 * channel from channel history.
 */
@Injectable()
export class PusherChannelInfo {
  private readonly nodeTtlMs: number;

  constructor(
    private readonly occupancy: ChannelOccupancyRepository,
    private readonly channels: ChannelsRepository,
    private readonly presence: PresenceMembers,
    config: IngestConfig,
  ) {
    this.nodeTtlMs = config.nodeTtlMs;
  }

  /** `info` of a trigger: `user_count` only for presence channels, as Pusher answers it. */
  async attributes(appId: string, name: string, info: readonly ChannelAttribute[]): Promise<Attributes> {
    const internal = internalChannel(appId, name);
    const out: Attributes = {};
    if (info.includes('user_count') && isPresence(name))
      out.user_count = (await this.presence.userIds(internal)).length;
    if (info.includes('subscription_count'))
      out.subscription_count = await this.occupancy.subscriptions(internal, this.nodeTtlMs);
    return out;
  }

  /** `GET channels`: occupied channels of the app whose name starts with `prefix`. */
  async list(
    appId: string,
    prefix: string,
    info: readonly ChannelAttribute[],
  ): Promise<Record<string, Attributes>> {
    if (info.includes('user_count') && !prefix.startsWith('presence-'))
      throw new BadRequestException('user_count may only be requested with filter_by_prefix=presence-…');
    const rows = await this.occupancy.occupied(internalPrefix(appId, prefix), this.nodeTtlMs);
    const out: Record<string, Attributes> = {};
    for (const row of rows) {
      const name = fromInternalChannel(row.channel)?.name;
      if (name === undefined) continue;
      const attributes: Attributes = {};
      if (info.includes('user_count'))
        attributes.user_count = (await this.presence.userIds(row.channel)).length;
      if (info.includes('subscription_count')) attributes.subscription_count = row.subscriptions;
      out[name] = attributes;
    }
    return out;
  }

  /** `GET channels/{channel}`. */
  async channel(
    appId: string,
    name: string,
    info: readonly (ChannelAttribute | 'cache')[],
  ): Promise<ChannelInfo> {
    if (info.includes('user_count') && !isPresence(name))
      throw new BadRequestException('user_count is only available for presence channels');
    if (info.includes('cache') && !isCacheChannel(name))
      throw new BadRequestException('cache is only available for cache channels');
    const internal = internalChannel(appId, name);
    const subscriptions = await this.occupancy.subscriptions(internal, this.nodeTtlMs);
    const out: ChannelInfo = { occupied: subscriptions > 0 };
    if (info.includes('user_count')) out.user_count = (await this.presence.userIds(internal)).length;
    if (info.includes('subscription_count')) out.subscription_count = subscriptions;
    if (info.includes('cache')) {
      const cache = await this.lastEvent(internal);
      if (cache) out.cache = cache;
    }
    return out;
  }

  /** `GET channels/{channel}/users`. */
  async users(appId: string, name: string): Promise<{ users: { id: string }[] }> {
    if (!isPresence(name)) throw new BadRequestException('users are only listed for presence channels');
    const ids = await this.presence.userIds(internalChannel(appId, name));
    return { users: ids.map((id) => ({ id })) };
  }

  /** A cache channel's newest event, while younger than the cache TTL and still in history. */
  private async lastEvent(internal: string): Promise<ChannelInfo['cache']> {
    const { lastOffset, trimmedOffset } = await this.channels.state(internal);
    if (lastOffset <= trimmedOffset) return undefined;
    const [last] = await this.channels.listAfter(internal, lastOffset - 1, 1);
    if (!last || !isPusherEventData(last.data)) return undefined;
    const ttl = CACHE_TTL_SECONDS - Math.floor((Date.now() - last.createdAt.getTime()) / 1000);
    return ttl > 0 ? { event: last.data.event, data: last.data.data, ttl } : undefined;
  }
}
