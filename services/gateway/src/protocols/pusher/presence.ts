import type { Session } from '../../core/sessions/session';

/**
 * A presence channel member, from the subscription's `channel_data` (signed with the subscription):
 * `user_id` identifies the member, `user_info` is what the other members see.
 */
export interface PresenceMember {
  userId: string;
  userInfo: unknown;
}

/** `channel_data` as a member, or why it is not one. */
export function parsePresenceMember(channelData: string): PresenceMember | string {
  let v: unknown;
  try {
    v = JSON.parse(channelData);
  } catch {
    return 'channel_data is not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'channel_data is not a JSON object';
  const { user_id: userId, user_info: userInfo } = v as Record<string, unknown>;
  // Pusher accepts numeric ids too; they are members by their string form.
  if (typeof userId === 'number' && Number.isFinite(userId)) return { userId: String(userId), userInfo };
  if (typeof userId !== 'string' || userId === '' || userId.length > 128)
    return 'channel_data.user_id must be a non-empty string of at most 128 characters';
  return { userId, userInfo };
}

/**
 * Where presence channels plug in (the presence core, integrated later): given an authorized
 * member, it subscribes the connection and answers with the member list, or refuses. Until then the
 * Pusher endpoint verifies presence subscriptions and answers that presence is not available.
 */
export interface PresenceChannels {
  subscribe(s: Session, internalChannel: string, pusherChannel: string, member: PresenceMember): void;
}
