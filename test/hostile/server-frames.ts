import { CloseCode, isValidChannelName } from '@notify/protocol';

/**
 * What docs/protocol.md promises a client may receive, checked strictly: the frame types of its
 * "Server → client" table with exactly their fields and types, the error codes it lists, the close
 * codes of its close-code table. Anything else is an undocumented reply.
 */

type Check = (v: unknown) => boolean;
type Shape = Record<string, { check: Check; optional?: boolean }>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const str: Check = (v) => typeof v === 'string';
const uuid: Check = (v) => typeof v === 'string' && UUID.test(v);
const count: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const iso: Check = (v) => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const ref: Check = (v) => typeof v === 'string' && v.length <= 64;
const any: Check = () => true;
const req = (check: Check) => ({ check });
const opt = (check: Check) => ({ check, optional: true });

export const DOCUMENTED_ERROR_CODES = ['bad_request', 'forbidden', 'not_found', 'rate_limited', 'internal'];
/** Close codes a gateway sends, plus 1006 (no close frame) and the client's own 1000/1005. */
export const DOCUMENTED_CLOSE_CODES: readonly number[] = [
  CloseCode.Normal,
  1005,
  CloseCode.GoingAway,
  CloseCode.Abnormal,
  CloseCode.MessageTooBig,
  CloseCode.InternalError,
  CloseCode.TokenExpired,
  CloseCode.Forbidden,
  CloseCode.SlowConsumer,
  CloseCode.RateLimited,
];

const NOTIFICATION: Shape = {
  seq: req((v) => count(v) && (v as number) >= 1),
  id: req(uuid),
  topic: req(str),
  title: opt(str),
  body: opt(str),
  data: opt((v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
  createdAt: req(iso),
  readAt: req((v) => v === null || iso(v)),
  silent: opt((v) => v === true),
};

/** A retracted seq in a replay: nothing but the seq and the id. */
const RETRACTED_NOTIFICATION: Shape = {
  seq: req((v) => count(v) && (v as number) >= 1),
  id: req(uuid),
  retracted: req((v) => v === true),
};

const HH_MM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const quietHours: Check = (v) =>
  v === null ||
  (typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.keys(v).sort().join() === 'end,start,timeZone' &&
    HH_MM.test(String((v as Record<string, unknown>).start)) &&
    HH_MM.test(String((v as Record<string, unknown>).end)) &&
    str((v as Record<string, unknown>).timeZone));

const SHAPES: Record<string, Shape> = {
  ready: {
    userId: req(str),
    deviceId: req(str),
    connectionId: req(uuid),
    node: req(str),
    lastSeq: req(count),
    unread: req(count),
  },
  notification: NOTIFICATION,
  read: {
    ids: req((v) => Array.isArray(v) && v.every(uuid)),
    unread: req(count),
    asOfSeq: req(count),
    ref: opt(ref),
  },
  history: {
    items: req((v) => Array.isArray(v) && v.every((n) => problemWith(n, NOTIFICATION) === null)),
    nextBefore: req((v) => v === null || count(v)),
    ref: opt(ref),
  },
  subscribed: {
    channel: req((v) => typeof v === 'string' && isValidChannelName(v)),
    offset: req(count),
    recovered: opt((v) => typeof v === 'boolean'),
    ref: opt(ref),
  },
  unsubscribed: { channel: req(str), ref: opt(ref) },
  message: { channel: req(str), offset: req(count), id: req(uuid), data: req(any), createdAt: req(iso) },
  error: {
    code: req((v) => DOCUMENTED_ERROR_CODES.includes(v as string)),
    message: req(str),
    ref: opt(ref),
  },
  retracted: {
    ids: req((v) => Array.isArray(v) && v.every(uuid)),
    unread: opt(count),
    asOfSeq: opt(count),
  },
  preferences: {
    mutedTopics: req((v) => Array.isArray(v) && v.every(str)),
    quietHours: req(quietHours),
    version: req((v) => count(v) && (v as number) >= 1),
    ref: opt(ref),
  },
  reconnect: { afterMs: req(count) },
  pong: { ref: opt(ref) },
};

function problemWith(value: unknown, shape: Shape): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const fields = value as Record<string, unknown>;
  for (const [name, { check, optional }] of Object.entries(shape)) {
    if (!(name in fields)) {
      if (!optional) return `missing ${name}`;
    } else if (!check(fields[name])) return `bad ${name}: ${JSON.stringify(fields[name])}`;
  }
  const extra = Object.keys(fields).filter((k) => k !== 'type' && !(k in shape));
  return extra.length ? `undocumented fields ${extra.join(', ')}` : null;
}

/** Why `frame` is not a documented server frame, or null when it is one. */
export function undocumentedReply(frame: unknown): string | null {
  const type = (frame as { type?: unknown } | null)?.type;
  const shape = typeof type === 'string' && Object.hasOwn(SHAPES, type) ? SHAPES[type] : undefined;
  if (!shape) return `unknown type ${JSON.stringify(type)}`;
  if (type === 'notification' && (frame as { retracted?: unknown }).retracted !== undefined)
    return problemWith(frame, RETRACTED_NOTIFICATION);
  return problemWith(frame, shape);
}
