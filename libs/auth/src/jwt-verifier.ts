import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { USER_ID_PATTERN } from '@notify/protocol';
import { verifyHs256 } from './hs256';
import { TokenRejectedError } from './token-rejected.error';

export interface VerifiedToken {
  userId: string;
  /** Seconds since epoch; the gateway closes the socket with 4401 then. */
  expiresAt: number;
  /** Channel grants from the `channels` claim: exact names or `prefix.*`. */
  channels: readonly string[];
}

export interface JwtVerifierOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** RS/ES/EdDSA keys from a JWKS endpoint, cached and refreshed by jose. */
  jwksUrl?: string;
  /** Clock skew tolerated on `exp`/`nbf`, in seconds. */
  clockToleranceSeconds?: number;
}

const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Shared by every token without grants: each session holds its grants for as long as it lives. */
const NO_CHANNELS: readonly string[] = Object.freeze([]);

/**
 * Verifies client tokens (docs/protocol.md, "WebSocket"): `sub` = userId, `exp` required, optional
 * `channels`.
 */
export class JwtVerifier {
  private readonly secret: Uint8Array | null;
  private readonly jwks: JWTVerifyGetKey | null;
  private readonly clockTolerance: number;

  constructor(options: JwtVerifierOptions) {
    if (options.jwksUrl) {
      this.jwks = createRemoteJWKSet(new URL(options.jwksUrl));
      this.secret = null;
    } else if (options.secret) {
      this.secret = new TextEncoder().encode(options.secret);
      this.jwks = null;
    } else {
      throw new Error('JwtVerifier needs a secret or a JWKS URL');
    }
    this.clockTolerance = options.clockToleranceSeconds ?? 5;
  }

  /** True when `verifySync` can decide (shared secret); JWKS keys may need fetching first. */
  get synchronous(): boolean {
    return this.secret !== null;
  }

  /** HS256 only; throws TokenRejectedError. */
  verifySync(token: string | undefined): VerifiedToken {
    if (!this.secret) throw new Error('verifySync needs a shared secret');
    if (!token) throw new TokenRejectedError('missing', 'no token');
    return this.claims(verifyHs256(token, this.secret));
  }

  async verify(token: string | undefined): Promise<VerifiedToken> {
    if (!this.jwks) return this.verifySync(token);
    if (!token) throw new TokenRejectedError('missing', 'no token');
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        algorithms: JWKS_ALGORITHMS,
        clockTolerance: this.clockTolerance,
      });
      return this.claims(payload);
    } catch (err) {
      if (err instanceof TokenRejectedError) throw err;
      if (err instanceof errors.JWTExpired) throw new TokenRejectedError('expired', 'token expired');
      throw new TokenRejectedError('invalid', err instanceof Error ? err.message : 'invalid token');
    }
  }

  /** The claim rules, the same whichever way the signature was checked. */
  private claims(payload: JWTPayload | Record<string, unknown>): VerifiedToken {
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== 'number') throw new TokenRejectedError('invalid', 'exp is required');
    if (payload.exp + this.clockTolerance <= now) throw new TokenRejectedError('expired', 'token expired');
    if (
      payload.nbf !== undefined &&
      (typeof payload.nbf !== 'number' || payload.nbf - this.clockTolerance > now)
    ) {
      throw new TokenRejectedError('invalid', 'token not yet valid');
    }
    if (typeof payload.sub !== 'string' || !USER_ID_PATTERN.test(payload.sub)) {
      throw new TokenRejectedError('invalid', 'sub must be a valid user id');
    }
    const channels = payload.channels;
    if (
      channels !== undefined &&
      !(Array.isArray(channels) && channels.every((c) => typeof c === 'string'))
    ) {
      throw new TokenRejectedError('invalid', 'channels must be an array of strings');
    }
    return {
      userId: payload.sub,
      expiresAt: payload.exp,
      channels: channels === undefined || channels.length === 0 ? NO_CHANNELS : (channels as string[]),
    };
  }
}
