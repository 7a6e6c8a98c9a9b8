/**
 * Pusher channel names and how they map onto notify's channels. A Pusher channel `name` of app
 * `appId` is stored, routed and counted as the notify channel `pusher:<appId>:<name>`. Native channel
 * names cannot contain `:`, so a native client can never subscribe to an app's channel, and one app's
 * channels never meet another's.
 */

/** As Pusher documents it: up to 164 characters from this set. */
export const PUSHER_CHANNEL_PATTERN = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;

export const isPusherChannelName = (name: string): boolean => PUSHER_CHANNEL_PATTERN.test(name);

export type PusherChannelKind = 'public' | 'private' | 'presence' | 'private-encrypted';

export function pusherChannelKind(name: string): PusherChannelKind {
  if (name.startsWith('private-encrypted-')) return 'private-encrypted';
  if (name.startsWith('private-')) return 'private';
  if (name.startsWith('presence-')) return 'presence';
  return 'public';
}

/** `cache-`, `private-cache-`, `private-encrypted-cache-` and `presence-cache-` channels. */
export const isCacheChannel = (name: string): boolean =>
  /^(?:private-encrypted-|private-|presence-)?cache-/.test(name);

/** Client events are allowed on private and presence channels only (not on encrypted ones either). */
export const acceptsClientEvents = (name: string): boolean => {
  const kind = pusherChannelKind(name);
  return kind === 'private' || kind === 'presence';
};

const PREFIX = 'pusher:';

export const internalChannel = (appId: string, name: string): string => `${PREFIX}${appId}:${name}`;

/** The app and Pusher name of an internal channel name, or undefined for a native channel. */
export function fromInternalChannel(internal: string): { appId: string; name: string } | undefined {
  if (!internal.startsWith(PREFIX)) return undefined;
  const colon = internal.indexOf(':', PREFIX.length);
  if (colon < 0) return undefined;
  return { appId: internal.slice(PREFIX.length, colon), name: internal.slice(colon + 1) };
}

/** The prefix under which all of one app's internal channel names sort (for `filter_by_prefix`). */
export const internalPrefix = (appId: string, namePrefix = ''): string => `${PREFIX}${appId}:${namePrefix}`;
