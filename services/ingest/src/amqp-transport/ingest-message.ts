import { SendNotificationDto, describeFieldErrors, validatePlain } from '@notify/contracts';

export type ParsedIngestMessage =
  { kind: 'notification'; dto: SendNotificationDto } | { kind: 'invalid'; reason: string };

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
    return result.ok
      ? { kind: 'notification', dto: result.value }
      : { kind: 'invalid', reason: `validation failed: ${describeFieldErrors(result.errors)}` };
  }
  if (routingKey.startsWith(CHANNEL_PREFIX)) {
    return { kind: 'invalid', reason: 'channel messages are not accepted by this ingest version' };
  }
  return {
    kind: 'invalid',
    reason: `unknown routing key "${routingKey}": use notification.<topic> or channel.<name>`,
  };
}
