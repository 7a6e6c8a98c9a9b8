/** Shared input rules, so the gateway, the SDK and ingest agree on what is valid. */

export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * User ids travel in AMQP routing keys (`user.<id>`) and are bound exactly, so dots (emails) are fine,
 * but the topic wildcards `*` and `#` and white space are not.
 */
export const USER_ID_PATTERN = /^[A-Za-z0-9_@:+.=-]{1,128}$/;
/** Channel names are dot-separated words; they travel as routing key `channel.<name>`. */
export const CHANNEL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;
export const CHANNEL_NAME_MAX_LENGTH = 200;
/** Topics route as `notification.<topic>` on notify.ingest. */
export const TOPIC_PATTERN = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;
export const TOPIC_MAX_LENGTH = 200;
export const HISTORY_PAGE_MAX = 100;

export function isValidChannelName(name: string): boolean {
  return name.length <= CHANNEL_NAME_MAX_LENGTH && CHANNEL_NAME_PATTERN.test(name);
}

/** Channels whose subscribers are members, announced to each other (docs/protocol.md, "Presence"). */
export const PRESENCE_CHANNEL_PREFIX = 'presence.';
export const isPresenceChannel = (channel: string): boolean => channel.startsWith(PRESENCE_CHANNEL_PREFIX);
