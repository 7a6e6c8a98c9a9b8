import { hmacSha256Hex } from './signatures';

/**
 * Pusher webhooks. Gateways publish what happened, one message per event, to the durable queue
 * PUSHER_WEBHOOK_QUEUE (default exchange, routing key = the queue's name, persistent, JSON, publisher
 * confirms); ingest consumes it, batches per app and POSTs `{time_ms, events}` to
 * NOTIFY_PUSHER_WEBHOOK_URL, signed as Pusher signs webhooks, retrying until the receiver answers 2xx.
 */
export const PUSHER_WEBHOOK_QUEUE = 'notify.pusher.webhooks';

/**
 * Both sides declare the queue with exactly these options (a mismatch is refused by the broker).
 * Bounded: should webhooks be switched off after the queue was declared, events pile up with no
 * consumer; past the bound the oldest go.
 */
export const PUSHER_WEBHOOK_QUEUE_OPTIONS = {
  durable: true,
  arguments: { 'x-queue-type': 'quorum', 'x-max-length': 100_000, 'x-overflow': 'drop-head' },
} as const;

/** One event as Pusher's webhook body lists it. */
export type PusherWebhookEvent =
  | { name: 'channel_occupied' | 'channel_vacated'; channel: string }
  | { name: 'member_added' | 'member_removed'; channel: string; user_id: string }
  | {
      name: 'client_event';
      channel: string;
      event: string;
      data: string;
      socket_id: string;
      user_id?: string;
    };

/** The message a gateway publishes: the app's id and the event. */
export interface PusherWebhookMessage {
  appId: string;
  event: PusherWebhookEvent;
}

const isString = (v: unknown): v is string => typeof v === 'string';

export function isPusherWebhookMessage(value: unknown): value is PusherWebhookMessage {
  if (typeof value !== 'object' || value === null) return false;
  const { appId, event } = value as Record<string, unknown>;
  if (!isString(appId) || typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  if (!isString(e.channel)) return false;
  switch (e.name) {
    case 'channel_occupied':
    case 'channel_vacated':
      return true;
    case 'member_added':
    case 'member_removed':
      return isString(e.user_id);
    case 'client_event':
      return (
        isString(e.event) &&
        isString(e.data) &&
        isString(e.socket_id) &&
        (e.user_id === undefined || isString(e.user_id))
      );
    default:
      return false;
  }
}

/** `X-Pusher-Signature`: hex HMAC-SHA256 of the body, keyed with the app's secret. */
export const webhookSignature = (secret: string, body: string): string => hmacSha256Hex(secret, body);
