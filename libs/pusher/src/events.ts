/**
 * How a Pusher event travels through notify. An event triggered through the HTTP API is stored as a
 * channel message of the internal channel (see channels.ts) whose `data` is a `PusherEventData`, and
 * is published on notify.delivery like every channel message. A gateway builds the Pusher frame
 * `{"event","channel","data"}` once per node per message.
 */
export interface PusherEventData {
  /** The event name (`name` in the HTTP API, `event` on the wire). */
  event: string;
  /** Always a string, as Pusher sends it: SDKs JSON-encode objects before triggering. */
  data: string;
  /** The socket that triggered it (HTTP API `socket_id`): it does not receive its own event. */
  exclude?: string;
}

export function isPusherEventData(value: unknown): value is PusherEventData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.event === 'string' &&
    typeof v.data === 'string' &&
    (v.exclude === undefined || typeof v.exclude === 'string')
  );
}

/** Pusher's limits: an event name up to 200 characters, data up to 10 KB (`NOTIFY_PUSHER_MAX_EVENT_BYTES`). */
export const MAX_EVENT_NAME_LENGTH = 200;
export const DEFAULT_MAX_EVENT_BYTES = 10_240;

/** socket_id as Pusher formats it: two integers joined by a dot. */
export const SOCKET_ID_PATTERN = /^\d{1,20}\.\d{1,20}$/;

/**
 * Routing key of a signed-in Pusher user (`pusher:signin`) on notify.delivery: a gateway holding one
 * of the user's sockets binds it, and `POST users/{id}/terminate_connections` publishes a message of
 * kind `PUSHER_TERMINATE_KIND` (empty body) there.
 */
export const pusherUserRoutingKey = (appId: string, userId: string): string =>
  `pusher-user.${appId}.${userId}`;

/** AMQP routing keys are at most 255 bytes (UTF-8): amqplib throws on a longer one. */
const MAX_ROUTING_KEY_BYTES = 255;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Why `userId` cannot be a signed-in user of `appId`, or null: its routing key must fit AMQP's 255
 * bytes (a 60-character CJK id already does not), and no control characters. Sign-in and
 * terminate_connections check the same rule, so every user that can sign in can be terminated.
 */
export function pusherUserIdProblem(appId: string, userId: string): string | null {
  if (
    userId.length > 0 &&
    !CONTROL_CHARACTER.test(userId) &&
    Buffer.byteLength(pusherUserRoutingKey(appId, userId)) <= MAX_ROUTING_KEY_BYTES
  )
    return null;
  const most = MAX_ROUTING_KEY_BYTES - Buffer.byteLength(pusherUserRoutingKey(appId, ''));
  return `user id must be 1 to ${most} bytes without control characters`;
}
export const PUSHER_TERMINATE_KIND = 'pusher-terminate';
