import { maxLength } from 'class-validator';
import {
  AmqpChannelMessageDto,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_RECIPIENTS,
  SendNotificationDto,
  describeFieldErrors,
  recipientLimitError,
  validatePlain,
} from '@notify/contracts';
import { hasLoneSurrogate, isValidChannelName } from '@notify/protocol';

export type ParsedIngestMessage =
  | { kind: 'notification'; dto: SendNotificationDto }
  | { kind: 'channel'; channel: string; dto: AmqpChannelMessageDto }
  | { kind: 'invalid'; reason: string };

const NOTIFICATION_PREFIX = 'notification.';
const CHANNEL_PREFIX = 'channel.';

/**
 * Turns one AMQP message into a command or a reason to refuse it. The routing key says what the body
 * is; a notification body may leave out `topic`, which then comes from the key.
 */
export async function parseIngestMessage(
  routingKey: string,
  body: unknown,
  size: number,
  limitBytes: number,
  maxRecipients = MAX_RECIPIENTS,
): Promise<ParsedIngestMessage> {
  if (size > limitBytes)
    return { kind: 'invalid', reason: `body is ${size} bytes; the limit is ${limitBytes}` };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { kind: 'invalid', reason: 'body is not a JSON object' };
  }
  if (routingKey.startsWith(NOTIFICATION_PREFIX)) {
    const topic = routingKey.slice(NOTIFICATION_PREFIX.length);
    const plain = { ...(body as Record<string, unknown>) };
    if (plain.topic === undefined && topic.length > 0) plain.topic = topic;
    const result = await validatePlain(SendNotificationDto, plain);
    const errors = result.ok
      ? [recipientLimitError(result.value, maxRecipients)].filter((e) => e !== null)
      : result.errors;
    return result.ok && errors.length === 0
      ? { kind: 'notification', dto: result.value }
      : { kind: 'invalid', reason: `validation failed: ${describeFieldErrors(errors)}` };
  }
  if (routingKey.startsWith(CHANNEL_PREFIX)) {
    const channel = routingKey.slice(CHANNEL_PREFIX.length);
    if (!isValidChannelName(channel))
      return { kind: 'invalid', reason: `routing key "${routingKey}" names no valid channel` };
    const result = await validatePlain(AmqpChannelMessageDto, body);
    if (!result.ok)
      return { kind: 'invalid', reason: `validation failed: ${describeFieldErrors(result.errors)}` };
    if (result.value.channel !== undefined && result.value.channel !== channel) {
      return {
        kind: 'invalid',
        reason: `body channel "${result.value.channel}" differs from routing key "${routingKey}"`,
      };
    }
    return { kind: 'channel', channel, dto: result.value };
  }
  return {
    kind: 'invalid',
    reason: `unknown routing key "${routingKey}": use notification.<topic> or channel.<name>`,
  };
}

/** A message's `message-id` as its idempotency key (none when it has none), or why it cannot be one. */
export type MessageIdKey = { ok: true; key: string | undefined } | { ok: false; reason: string };

/**
 * The idempotency key `message-id` gives, by the rules of the HTTP body's `idempotencyKey` (at most
 * MAX_IDEMPOTENCY_KEY_LENGTH characters, no U+0000 nor lone surrogate, which PostgreSQL cannot store):
 * a message-id breaking them is a validation failure, as the same key in a body would be, not an
 * internal error at the database. An empty message-id is none, as before.
 */
export function messageIdKey(messageId: unknown): MessageIdKey {
  if (typeof messageId !== 'string' || messageId === '') return { ok: true, key: undefined };
  const field = 'message-id';
  // As for a body, a lone surrogate is refused before any other rule.
  const messages = hasLoneSurrogate(messageId)
    ? [`${field} must not contain a lone UTF-16 surrogate`]
    : [
        ...(maxLength(messageId, MAX_IDEMPOTENCY_KEY_LENGTH)
          ? []
          : [`${field} must be shorter than or equal to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`]),
        ...(messageId.includes('\u0000') ? [`${field} must not contain the character U+0000`] : []),
      ];
  return messages.length === 0
    ? { ok: true, key: messageId }
    : { ok: false, reason: `validation failed: ${describeFieldErrors([{ field, messages }])}` };
}
