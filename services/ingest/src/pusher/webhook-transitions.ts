import { fromInternalChannel, type PusherWebhookMessage } from '@notify/pusher';

/** What the gateways' state says at one moment: occupied internal channels, presence memberships. */
export interface OccupancySnapshot {
  channels: ReadonlySet<string>;
  /** `memberKey(channel, userId)` of each member of each presence channel. */
  members: ReadonlySet<string>;
}

const SEP = '\u0000';

/** One key per (internal channel, user): NUL appears in neither a channel name nor a user id. */
export const memberKey = (channel: string, userId: string): string => `${channel}${SEP}${userId}`;

/**
 * The webhook events between two snapshots, in an order a receiver can follow: a channel is
 * occupied before its members are added, its members are removed before it is vacated. Channels
 * that are not Pusher channels (no app in the name) are skipped.
 */
export function webhookTransitions(
  before: OccupancySnapshot,
  after: OccupancySnapshot,
): PusherWebhookMessage[] {
  const out: PusherWebhookMessage[] = [];
  const channelEvent = (internal: string, name: 'channel_occupied' | 'channel_vacated'): void => {
    const c = fromInternalChannel(internal);
    if (c) out.push({ appId: c.appId, event: { name, channel: c.name } });
  };
  const memberEvent = (key: string, name: 'member_added' | 'member_removed'): void => {
    const at = key.indexOf(SEP);
    const c = fromInternalChannel(key.slice(0, at));
    if (c) out.push({ appId: c.appId, event: { name, channel: c.name, user_id: key.slice(at + 1) } });
  };
  for (const ch of after.channels) if (!before.channels.has(ch)) channelEvent(ch, 'channel_occupied');
  for (const m of after.members) if (!before.members.has(m)) memberEvent(m, 'member_added');
  for (const m of before.members) if (!after.members.has(m)) memberEvent(m, 'member_removed');
  for (const ch of before.channels) if (!after.channels.has(ch)) channelEvent(ch, 'channel_vacated');
  return out;
}
