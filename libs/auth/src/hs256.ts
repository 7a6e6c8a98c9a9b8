import { createHmac, timingSafeEqual } from 'node:crypto';
import { TokenRejectedError } from './token-rejected.error';

/**
 * Synchronous HS256 verification with node:crypto. The gateway uses it to authenticate inside
 * uWebSockets.js' upgrade handler and upgrade at once, which avoids an async upgrade: completing an
 * upgrade after an await (corked, as required) can close the fresh socket in uWS 20.30
 * (uNetworking/uWebSockets#1928, fixed upstream after the build we run).
 * Only `alg: HS256` is accepted, so `none` and algorithm-confusion tokens fail.
 */
export function verifyHs256(token: string, secret: Uint8Array): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenRejectedError('invalid', 'malformed token');
  const [headerB64, payloadB64, signatureB64] = parts;
  const header = decodeJson(headerB64, 'header');
  if (header.alg !== 'HS256') throw new TokenRejectedError('invalid', 'alg must be HS256');
  if (header.crit !== undefined) throw new TokenRejectedError('invalid', 'unsupported crit header');
  const expected = createHmac('sha256', secret).update(`${headerB64}.${payloadB64}`).digest();
  const actual = Buffer.from(signatureB64, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new TokenRejectedError('invalid', 'signature verification failed');
  }
  return decodeJson(payloadB64, 'payload');
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new TokenRejectedError('invalid', `${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenRejectedError('invalid', `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
