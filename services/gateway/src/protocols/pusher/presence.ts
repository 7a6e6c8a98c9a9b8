import { hasUnstorableText } from '@notify/protocol';
import type { PresenceMember, SubscribedInfo } from '../../core/ports';

/**
 * A Pusher member's `user_info` as the core keeps it: the core wants an object and Pusher allows any
 * JSON value, so every Pusher member's info is `{ user_info }` (absent when there is none), and is
 * unwrapped again only here. Stored presence rows of Pusher channels show it so.
 */
type PusherMemberInfo = {
  readonly user_info?: unknown;
};

/** The most user_info may take, JSON-encoded (Pusher documents 1 KB; channel_data carries more). */
export const MAX_USER_INFO_BYTES = 1024;

/**
 * `channel_data` (signed with the subscription) as a member: `user_id` identifies the member,
 * `user_info` is what the other members see. Or why it is not one.
 */
export function parsePresenceMember(channelData: string): PresenceMember | string {
  let v: unknown;
  try {
    v = JSON.parse(channelData);
  } catch {
    return 'channel_data is not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'channel_data is not a JSON object';
  const { user_id: rawId, user_info: userInfo } = v as Record<string, unknown>;
  // Pusher accepts numeric ids too; they are members by their string form.
  const userId = typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : rawId;
  if (typeof userId !== 'string' || userId === '' || userId.length > 128)
    return 'channel_data.user_id must be a non-empty string of at most 128 characters';
  // Members are stored: text PostgreSQL refuses would fail every presence write of this node.
  if (hasUnstorableText(userId))
    return 'channel_data.user_id must not contain U+0000 or a lone UTF-16 surrogate';
  if (userInfo === undefined || userInfo === null) return { userId };
  if (Buffer.byteLength(JSON.stringify(userInfo)) > MAX_USER_INFO_BYTES)
    return `channel_data.user_info over ${MAX_USER_INFO_BYTES} bytes`;
  if (hasUnstorableText(userInfo))
    return 'channel_data.user_info must not contain U+0000 or a lone UTF-16 surrogate';
  const info: PusherMemberInfo = { user_info: userInfo };
  return { userId, info };
}

const userInfoOf = (m: PresenceMember): unknown => (m.info as PusherMemberInfo | undefined)?.user_info;

/** `pusher_internal:member_added` data. */
export function memberAddedData(m: PresenceMember): string {
  const userInfo = userInfoOf(m);
  return JSON.stringify(
    userInfo === undefined ? { user_id: m.userId } : { user_id: m.userId, user_info: userInfo },
  );
}

/** `pusher_internal:member_removed` data. */
export const memberRemovedData = (userId: string): string => JSON.stringify({ user_id: userId });

/**
 * `pusher_internal:subscription_succeeded` data of a presence channel: `{presence:{count,ids,hash}}`,
 * the hash mapping every id to its user_info (null when it has none: pusher-js lists members by the
 * hash's keys).
 */
export function subscriptionSucceededData(members: NonNullable<SubscribedInfo['members']>): string {
  const ids: string[] = [];
  // No prototype: a user_id of "__proto__" is a key like any other.
  const hash = Object.create(null) as Record<string, unknown>;
  const add = (m: PresenceMember): void => {
    if (m.userId in hash) return;
    ids.push(m.userId);
    hash[m.userId] = userInfoOf(m) ?? null;
  };
  for (const m of members.announced) add(m);
  if (members.joiner) add(members.joiner);
  return JSON.stringify({ presence: { count: ids.length, ids, hash } });
}
