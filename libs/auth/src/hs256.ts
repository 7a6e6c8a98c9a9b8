import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseJws } from './jws';
import { TokenRejectedError } from './token-rejected.error';

/**
 * Synchronous HS256 verification with node:crypto, so the gateway can authenticate inside
 * uWebSockets.js' upgrade handler (docs/architecture.md, "uWebSockets.js 20.30 and async upgrades").
 * Only `alg: HS256` is accepted, so `none` and algorithm-confusion tokens fail.
 */
export function verifyHs256(token: string, secret: Uint8Array): Record<string, unknown> {
  const jws = parseJws(token);
  if (jws.header.alg !== 'HS256') throw new TokenRejectedError('invalid', 'alg must be HS256');
  const expected = createHmac('sha256', secret).update(jws.signingInput).digest();
  if (jws.signature.length !== expected.length || !timingSafeEqual(jws.signature, expected)) {
    throw new TokenRejectedError('invalid', 'signature verification failed');
  }
  return jws.payload;
}
