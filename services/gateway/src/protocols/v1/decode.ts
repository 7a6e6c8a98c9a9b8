import {
  HISTORY_PAGE_DEFAULT,
  HISTORY_PAGE_MAX,
  isValidChannelName,
  parsePreferences,
  type ClientFrame,
  type MarkReadFrame,
} from '@notify/protocol';
import type { Refusal } from '../../core/ports';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** 256 ids (~10 KB of JSON) fit well inside the default 16 KiB frame limit. */
const MAX_READ_IDS = 256;
const MAX_REF_LENGTH = 64;

export type Decoded = { ok: true; frame: ClientFrame } | { ok: false; refusal: Refusal };

type Fields = Record<string, unknown>;

const decoder = new TextDecoder('utf-8', { fatal: true });

const refuse = (message: string, ref?: string, kind: Refusal['kind'] = 'bad_request'): Decoded => ({
  ok: false,
  refusal: { kind, message, ref },
});

const isSeq = (n: unknown, min: number): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= min;

/**
 * A field the client sent, for an error message: strings quoted (and cut), anything else by its
 * kind. Stringifying the value itself echoes whatever it holds, and a deeply nested array (a 16 KiB
 * frame holds thousands of levels) overflows the stack: no refusal would go out at all.
 */
function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : String(value).slice(0, 40);
}

/**
 * Client bytes to one typed v1 frame, every field checked, or the refusal that says what is wrong.
 * Checks that need state (what was delivered, what is subscribed, what the token allows) are the
 * core's.
 */
export function decodeClientFrame(bytes: ArrayBuffer): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return refuse('frame is not valid UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refuse('frame must be a JSON object');
  }
  const f = value as Fields;
  // A ref that is not a short string is ignored rather than refused: it is only echoed.
  const ref = typeof f.ref === 'string' && f.ref.length <= MAX_REF_LENGTH ? f.ref : undefined;
  switch (f.type) {
    case 'ping':
      return { ok: true, frame: { type: 'ping', ref } };
    case 'ack':
      if (!isSeq(f.seq, 0)) return refuse('ack needs seq: a non-negative integer', ref);
      return { ok: true, frame: { type: 'ack', seq: f.seq, ref } };
    case 'read':
      return decodeRead(f, ref);
    case 'history':
      return decodeHistory(f, ref);
    case 'subscribe':
      return decodeSubscribe(f, ref);
    case 'preferences': {
      const parsed = parsePreferences(f);
      if (!parsed.ok) return refuse(parsed.errors.map((e) => e.message).join('; '), ref);
      return { ok: true, frame: { type: 'preferences', ...parsed.preferences, ref } };
    }
    case 'unsubscribe':
      if (typeof f.channel !== 'string')
        return refuse(`not subscribed to ${describe(f.channel)}`, ref, 'not_found');
      return { ok: true, frame: { type: 'unsubscribe', channel: f.channel, ref } };
    default:
      return refuse(`unknown frame type ${describe(f.type)}`, ref);
  }
}

function decodeRead(f: Fields, ref: string | undefined): Decoded {
  const hasIds = f.ids !== undefined;
  if (hasIds === (f.upTo !== undefined)) return refuse('read needs exactly one of ids or upTo', ref);
  if (!hasIds) {
    if (!isSeq(f.upTo, 0)) return refuse('upTo must be a seq (integer ≥ 0)', ref);
    return { ok: true, frame: { type: 'read', upTo: f.upTo, ref } };
  }
  const ids = f.ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_READ_IDS) {
    return refuse(`ids must be an array of 1 to ${MAX_READ_IDS} notification ids`, ref);
  }
  if (!ids.every((id) => typeof id === 'string' && UUID.test(id)))
    return refuse('ids must be notification ids (UUIDs)', ref);
  const frame: MarkReadFrame = { type: 'read', ids: ids as string[], ref };
  return { ok: true, frame };
}

function decodeHistory(f: Fields, ref: string | undefined): Decoded {
  const { before } = f;
  const limit = f.limit ?? HISTORY_PAGE_DEFAULT;
  const unreadOnly = f.unreadOnly ?? false;
  if (before !== undefined && !isSeq(before, 1)) return refuse('before must be a seq (integer ≥ 1)', ref);
  if (!isSeq(limit, 1) || limit > HISTORY_PAGE_MAX) {
    return refuse(`limit must be an integer from 1 to ${HISTORY_PAGE_MAX}`, ref);
  }
  if (typeof unreadOnly !== 'boolean') return refuse('unreadOnly must be a boolean', ref);
  return { ok: true, frame: { type: 'history', before, limit, unreadOnly, ref } };
}

function decodeSubscribe(f: Fields, ref: string | undefined): Decoded {
  const { channel, since } = f;
  if (typeof channel !== 'string' || !isValidChannelName(channel)) {
    return refuse('channel must be dot-separated words of A-Z a-z 0-9 _ - (≤ 200 chars)', ref);
  }
  if (since !== undefined && !isSeq(since, 0)) return refuse('since must be an offset (integer ≥ 0)', ref);
  return { ok: true, frame: { type: 'subscribe', channel, since, ref } };
}
