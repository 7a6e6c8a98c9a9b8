import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { USER_ID_PATTERN } from '@notify/protocol';

export interface VerifiedToken {
  userId: string;
  /** Seconds since epoch; the gateway closes the socket with 4401 then. */
  expiresAt: number;
  /** Channel grants from the `channels` claim: exact names or `prefix.*`. */
  channels: readonly string[];
}

export type TokenProblem = 'missing' | 'invalid' | 'expired';

export class TokenRejectedError extends Error {
  constructor(
    readonly problem: TokenProblem,
    detail: string,
  ) {
    super(detail);
    this.name = 'TokenRejectedError';
  }
}

export interface JwtVerifierOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** RS/ES keys from a JWKS endpoint, cached and refreshed by jose. */
  jwksUrl?: string;
  /** Clock skew tolerated on `exp`/`nbf`, in seconds. */
  clockToleranceSeconds?: number;
}

/** Verifies client tokens (DESIGN §6): `sub` = userId, `exp` required, optional `channels`. */
export class JwtVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];
  private readonly clockTolerance: number;

  constructor(options: JwtVerifierOptions) {
    if (options.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(options.jwksUrl));
      this.algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'];
    } else if (options.secret) {
      this.key = new TextEncoder().encode(options.secret);
      this.algorithms = ['HS256'];
    } else {
      throw new Error('JwtVerifier needs a secret or a JWKS URL');
    }
    this.clockTolerance = options.clockToleranceSeconds ?? 5;
  }

  async verify(token: string | undefined): Promise<VerifiedToken> {
    if (!token) throw new TokenRejectedError('missing', 'no token');
    let payload;
    try {
      const key = this.key;
      const result =
        key instanceof Uint8Array
          ? await jwtVerify(token, key, { algorithms: this.algorithms, clockTolerance: this.clockTolerance })
          : await jwtVerify(token, key, { algorithms: this.algorithms, clockTolerance: this.clockTolerance });
      payload = result.payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new TokenRejectedError('expired', 'token expired');
      throw new TokenRejectedError('invalid', err instanceof Error ? err.message : 'invalid token');
    }
    if (typeof payload.sub !== 'string' || !USER_ID_PATTERN.test(payload.sub)) {
      throw new TokenRejectedError('invalid', 'sub must be a valid user id');
    }
    if (typeof payload.exp !== 'number') throw new TokenRejectedError('invalid', 'exp is required');
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
      channels: (channels as string[] | undefined) ?? [],
    };
  }
}
