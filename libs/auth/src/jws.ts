import { TokenRejectedError } from './token-rejected.error';

/**
 * Longest token looked at. A JWT with a few claims is well under 2 KiB; anything this big is refused
 * before it is decoded, so a huge `?token=` costs no base64 or JSON work.
 */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** A compact JWS split into its parts, header and payload decoded, the signature not yet checked. */
export interface ParsedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `header.payload` as sent: what the signature covers. */
  signingInput: string;
  signature: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function parseJws(token: string): ParsedJws {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenRejectedError('invalid', 'token too long');
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) {
    throw new TokenRejectedError('invalid', 'malformed token');
  }
  const [headerB64, payloadB64, signatureB64] = parts;
  const header = decodeJson(headerB64, 'header');
  if (header.crit !== undefined) throw new TokenRejectedError('invalid', 'unsupported crit header');
  // Checked before the payload is decoded: an unsigned token gets no further.
  if (typeof header.alg !== 'string' || header.alg.toLowerCase() === 'none') {
    throw new TokenRejectedError('invalid', 'alg must name a signature algorithm');
  }
  return {
    header,
    payload: decodeJson(payloadB64, 'payload'),
    signingInput: `${headerB64}.${payloadB64}`,
    signature: Buffer.from(signatureB64, 'base64url'),
  };
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
