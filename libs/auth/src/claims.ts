import { hasUnstorableText, USER_ID_PATTERN } from '@notify/protocol';
import { TokenRejectedError } from './token-rejected.error';

export interface VerifiedToken {
  userId: string;
  /** Seconds since epoch; the gateway closes the socket with 4401 then. */
  expiresAt: number;
  /** Channel grants from the `channels` claim: exact names or `prefix.*`. */
  channels: readonly string[];
  /** The optional `info` claim: what presence channels show of the user (at most MAX_INFO_BYTES as JSON). */
  info?: Readonly<Record<string, unknown>>;
}

/** Largest `info` claim, serialized: every presence frame and member list carries it. */
export const MAX_INFO_BYTES = 1024;

export interface ClaimRules {
  /** Clock skew tolerated on `exp`/`nbf`, in seconds. */
  clockTolerance: number;
  /** When set, `iss` must equal it. */
  issuer?: string;
  /** When not empty, `aud` (a string or an array) must name at least one of these. */
  audience: readonly string[];
}

/** Shared by every token without grants: each session holds its grants for as long as it lives. */
const NO_CHANNELS: readonly string[] = Object.freeze([]);

/** The claim rules (docs/protocol.md, "Connecting"), the same whichever key checked the signature. */
export function checkClaims(payload: Record<string, unknown>, rules: ClaimRules): VerifiedToken {
  const now = Math.floor(Date.now() / 1000);
  const { exp, nbf, sub, channels, info } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new TokenRejectedError('invalid', 'exp is required');
  }
  if (exp + rules.clockTolerance <= now) throw new TokenRejectedError('expired', 'token expired');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf - rules.clockTolerance > now)) {
    throw new TokenRejectedError('invalid', 'token not yet valid');
  }
  if (rules.issuer !== undefined && payload.iss !== rules.issuer) {
    throw new TokenRejectedError('invalid', 'unexpected iss');
  }
  if (rules.audience.length > 0 && !audienceMatches(payload.aud, rules.audience)) {
    throw new TokenRejectedError('invalid', 'unexpected aud');
  }
  if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub)) {
    throw new TokenRejectedError('invalid', 'sub must be a valid user id');
  }
  if (channels !== undefined && !(Array.isArray(channels) && channels.every((c) => typeof c === 'string'))) {
    throw new TokenRejectedError('invalid', 'channels must be an array of strings');
  }
  const token: VerifiedToken = {
    userId: sub,
    expiresAt: exp,
    channels: channels === undefined || channels.length === 0 ? NO_CHANNELS : (channels as string[]),
  };
  if (info !== undefined) token.info = checkInfo(info);
  return token;
}

function checkInfo(info: unknown): Readonly<Record<string, unknown>> {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    throw new TokenRejectedError('invalid', 'info must be a JSON object', true);
  }
  if (Buffer.byteLength(JSON.stringify(info)) > MAX_INFO_BYTES) {
    throw new TokenRejectedError('invalid', `info must be at most ${MAX_INFO_BYTES} bytes as JSON`, true);
  }
  // Stored with the user's presence: text PostgreSQL refuses would fail the node's presence writes.
  if (hasUnstorableText(info)) {
    throw new TokenRejectedError('invalid', 'info must not contain U+0000 or a lone UTF-16 surrogate', true);
  }
  return info as Record<string, unknown>;
}

function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && accepted.includes(a));
}
