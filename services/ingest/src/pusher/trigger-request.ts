import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { isPusherChannelName, MAX_EVENT_NAME_LENGTH, SOCKET_ID_PATTERN } from '@notify/pusher';

/** Channels one `POST events` may name, and events one `POST batch_events` may hold (Pusher's limits). */
export const MAX_TRIGGER_CHANNELS = 100;
export const MAX_BATCH_EVENTS = 10;

/** Attributes a trigger may ask back for each channel (`info`). */
export type TriggerInfo = 'user_count' | 'subscription_count';

/** One validated event of `POST events` or of a `batch_events` entry. */
export interface TriggerEvent {
  name: string;
  data: string;
  /** Distinct, valid Pusher channel names (one in a batch entry). */
  channels: string[];
  socketId?: string;
  info: TriggerInfo[];
}

type Json = Record<string, unknown>;

const bad = (message: string): BadRequestException => new BadRequestException(message);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `info` of a query or a body: comma-separated attribute names, each one of `allowed`. Unknown names
 * are refused rather than ignored, so a typo does not look like an empty answer.
 */
export function parseInfo<T extends string>(raw: unknown, allowed: readonly T[], where = 'info'): T[] {
  if (raw === undefined || raw === '') return [];
  if (typeof raw !== 'string') throw bad(`${where} must be a comma-separated string`);
  const names = [...new Set(raw.split(',').map((s) => s.trim()))];
  for (const name of names) {
    if (!(allowed as readonly string[]).includes(name))
      throw bad(`${where}: unknown attribute "${name.slice(0, 64)}" (allowed: ${allowed.join(', ')})`);
  }
  return names as T[];
}

export function checkChannelName(name: unknown, where: string): string {
  if (typeof name !== 'string' || !isPusherChannelName(name))
    throw bad(
      `${where} must be 1–164 characters of A-Z a-z 0-9 _ - = @ , . ; (got ${JSON.stringify(name)?.slice(0, 80)})`,
    );
  return name;
}

/** `filter_by_prefix`: the start of a channel name (empty: every channel). */
export function parsePrefix(raw: unknown): string {
  if (raw === undefined) return '';
  if (typeof raw !== 'string' || !/^[A-Za-z0-9_\-=@,.;]{0,164}$/.test(raw))
    throw bad('filter_by_prefix must be the start of a channel name (A-Z a-z 0-9 _ - = @ , . ;)');
  return raw;
}

/**
 * One event, as Pusher's HTTP API takes it: `name`, `data` (a string), `channels` or `channel`,
 * optional `socket_id` and `info`. Other fields are ignored, as Pusher does (SDKs differ in what they
 * send). `where` prefixes messages (`batch[3].`); `single` takes only `channel` (batch entries).
 */
export function parseTriggerEvent(
  body: unknown,
  maxEventBytes: number,
  options: { where?: string; single?: boolean } = {},
): TriggerEvent {
  const where = options.where ?? '';
  if (!isObject(body)) throw bad(`${where || 'the body'} must be a JSON object`);
  const { name, data, channels, channel, socket_id: socketId } = body;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_EVENT_NAME_LENGTH)
    throw bad(`${where}name must be a string of 1–${MAX_EVENT_NAME_LENGTH} characters`);
  if (name.includes('\u0000')) throw bad(`${where}name must not contain U+0000`);
  // Pusher's own protocol events: a server event of that name would pass for one.
  if (name.startsWith('pusher:') || name.startsWith('pusher_internal:'))
    throw bad(`${where}name must not start with "pusher:" or "pusher_internal:" (reserved)`);
  if (typeof data !== 'string')
    throw bad(`${where}data must be a string (JSON-encode objects before triggering, as the SDKs do)`);
  if (data.includes('\u0000')) throw bad(`${where}data must not contain U+0000`);
  const bytes = Buffer.byteLength(data);
  if (bytes > maxEventBytes)
    throw new PayloadTooLargeException(
      `${where}data is ${bytes} bytes, over the limit of ${maxEventBytes} (NOTIFY_PUSHER_MAX_EVENT_BYTES)`,
    );
  if (socketId !== undefined && (typeof socketId !== 'string' || !SOCKET_ID_PATTERN.test(socketId)))
    throw bad(`${where}socket_id must look like "123.456"`);
  return {
    name,
    data,
    channels: parseChannels(channels, channel, where, options.single ?? false),
    ...(socketId === undefined ? {} : { socketId }),
    info: parseInfo(body.info, ['user_count', 'subscription_count'], `${where}info`),
  };
}

function parseChannels(channels: unknown, channel: unknown, where: string, single: boolean): string[] {
  if (single) {
    if (channels !== undefined) throw bad(`${where}channels: a batch event names one \`channel\``);
    return [checkChannelName(channel, `${where}channel`)];
  }
  if ((channels === undefined) === (channel === undefined))
    throw bad(`${where}exactly one of channels and channel is required`);
  if (channel !== undefined) return [checkChannelName(channel, `${where}channel`)];
  if (!Array.isArray(channels) || channels.length === 0 || channels.length > MAX_TRIGGER_CHANNELS)
    throw bad(`${where}channels must be an array of 1–${MAX_TRIGGER_CHANNELS} channel names`);
  // A name given twice is one channel: the event is stored and delivered once.
  return [...new Set(channels.map((c, i) => checkChannelName(c, `${where}channels[${i}]`)))];
}

/** `POST batch_events`: `{batch: [event…]}`, 1–10 events, each validated before any is stored. */
export function parseBatch(body: unknown, maxEventBytes: number): TriggerEvent[] {
  if (!isObject(body) || !Array.isArray(body.batch)) throw bad('the body must be {"batch": [events]}');
  const { batch } = body;
  if (batch.length === 0 || batch.length > MAX_BATCH_EVENTS)
    throw bad(`batch must hold 1–${MAX_BATCH_EVENTS} events, has ${batch.length}`);
  return batch.map((event, i) =>
    parseTriggerEvent(event, maxEventBytes, { where: `batch[${i}].`, single: true }),
  );
}
