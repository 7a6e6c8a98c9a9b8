import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const hmacSha256Hex = (secret: string, message: string): string =>
  createHmac('sha256', secret).update(message).digest('hex');

export const md5Hex = (body: string | Uint8Array): string => createHash('md5').update(body).digest('hex');

/**
 * Constant-time comparison of two hex strings (different lengths are simply unequal). Lengths are
 * compared in bytes: a client's string of the right length in characters may be longer in UTF-8, and
 * timingSafeEqual throws on buffers of different sizes.
 */
export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The `auth` a client sends to subscribe to a private or presence channel: `key:HMAC(secret,
 * "socket_id:channel")`, or over `"socket_id:channel:channel_data"` for presence channels.
 */
export function channelAuthSignature(
  secret: string,
  socketId: string,
  channel: string,
  channelData?: string,
): string {
  const message =
    channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return hmacSha256Hex(secret, message);
}

export function verifyChannelAuth(
  app: { key: string; secret: string },
  auth: string,
  socketId: string,
  channel: string,
  channelData?: string,
): boolean {
  const colon = auth.indexOf(':');
  if (colon < 0 || auth.slice(0, colon) !== app.key) return false;
  return sameHex(auth.slice(colon + 1), channelAuthSignature(app.secret, socketId, channel, channelData));
}

/** `pusher:signin`: `key:HMAC(secret, "socket_id::user::user_data")`. */
export function verifySigninAuth(
  app: { key: string; secret: string },
  auth: string,
  socketId: string,
  userData: string,
): boolean {
  const colon = auth.indexOf(':');
  if (colon < 0 || auth.slice(0, colon) !== app.key) return false;
  return sameHex(auth.slice(colon + 1), hmacSha256Hex(app.secret, `${socketId}::user::${userData}`));
}

/**
 * The string a Pusher HTTP API request is signed over: `METHOD\npath\nquery`, the query's
 * parameters (all but `auth_signature`) with lower-cased keys, sorted by key, joined as `k=v` by `&`
 * without URL-encoding, as Pusher's server SDKs build it.
 */
export function requestSigningString(
  method: string,
  path: string,
  query: Readonly<Record<string, string>>,
): string {
  const pairs = Object.keys(query)
    .filter((k) => k !== 'auth_signature')
    .map((k) => [k.toLowerCase(), query[k]] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  return `${method.toUpperCase()}\n${path}\n${pairs.join('&')}`;
}
