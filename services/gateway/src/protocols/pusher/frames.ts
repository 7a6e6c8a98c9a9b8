/**
 * Pusher protocol 7 frames: one JSON object each, `{"event","channel"?,"data"?}`. The server sends
 * `data` as a JSON string where Pusher does (connection_established, subscription_succeeded, events)
 * and as an object for errors, as Pusher documents them.
 */

/**
 * The `pusher:error` codes this server sends (Pusher's documented ranges decide what pusher-js does
 * on a close: 4000–4099 it stays closed, 4100–4199 it reconnects after a backoff, 4200–4299 at once).
 */
export const PusherErrorCode = {
  /** No app with the key in the URL. */
  appNotFound: 4001,
  /** The app is at its maximum of connections on this node. */
  overQuota: 4004,
  /** `protocol` is not a number. */
  invalidVersion: 4006,
  /** `protocol` is not 7. */
  unsupportedVersion: 4007,
  /** No `protocol` in the URL. */
  noVersion: 4008,
  /** Sign-in refused, or the user's connections were terminated. */
  unauthorized: 4009,
  /** Closed for sending too many frames: reconnect after a backoff. */
  overCapacity: 4100,
  /** The node is draining: reconnect at once (elsewhere). */
  reconnect: 4200,
  /** A `pusher:ping` went unanswered. */
  pongNotReceived: 4201,
  /** Over the client-event (or frame) rate: the event is dropped, the connection stays. */
  rateLimited: 4301,
} as const;

export type PusherErrorCodeValue = (typeof PusherErrorCode)[keyof typeof PusherErrorCode];

export const SUPPORTED_PROTOCOL = 7;

/** A `pusher:error`; code null for a bad frame that is only refused (the connection stays). */
export const encodePusherError = (code: number | null, message: string): string =>
  JSON.stringify({ event: 'pusher:error', data: { code, message } });

export const encodeEvent = (event: string, channel: string | undefined, data: unknown): string =>
  JSON.stringify(channel === undefined ? { event, data } : { event, channel, data });

export const encodeConnectionEstablished = (socketId: string, activityTimeout: number): string =>
  encodeEvent(
    'pusher:connection_established',
    undefined,
    JSON.stringify({ socket_id: socketId, activity_timeout: activityTimeout }),
  );

export const PING_FRAME = JSON.stringify({ event: 'pusher:ping', data: '{}' });
export const PONG_FRAME = JSON.stringify({ event: 'pusher:pong', data: '{}' });

/** What pusher-js hands a `pusher:subscription_error` listener (as for a failed auth request). */
export const encodeSubscriptionError = (
  channel: string,
  type: string,
  error: string,
  status: number,
): string => encodeEvent('pusher:subscription_error', channel, { type, error, status });
