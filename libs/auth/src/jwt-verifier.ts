import { checkClaims, type ClaimRules, type VerifiedToken } from './claims';
import { verifyHs256 } from './hs256';
import { verifySignature } from './jwk-keys';
import { JwksCache, type JwksCacheOptions } from './jwks-cache';
import { parseJws } from './jws';
import { TokenRejectedError } from './token-rejected.error';

export interface JwtVerifierOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** RS/PS/ES/EdDSA keys from a JWKS endpoint, fetched ahead (JwksCache). */
  jwks?: JwksCacheOptions;
  /** Clock skew tolerated on `exp`/`nbf`, in seconds. */
  clockToleranceSeconds?: number;
  /** When set, `iss` must equal it. */
  issuer?: string;
  /** When not empty, `aud` must name one of these. */
  audience?: readonly string[];
}

/**
 * Verifies client tokens (docs/protocol.md, "Connecting"): `sub` = userId, `exp` required, optional
 * `channels`, `iss`/`aud` when configured. Always synchronous: HS256 with node:crypto, or JWKS keys
 * held in memory by a JwksCache, so the gateway decides inside uWS' upgrade handler
 * (docs/architecture.md, "uWebSockets.js 20.30 and async upgrades").
 */
export class JwtVerifier {
  private readonly secret: Uint8Array | null;
  readonly jwks: JwksCache | null;
  private readonly rules: ClaimRules;

  constructor(options: JwtVerifierOptions) {
    if (options.jwks) {
      this.jwks = new JwksCache(options.jwks);
      this.secret = null;
    } else if (options.secret) {
      this.secret = new TextEncoder().encode(options.secret);
      this.jwks = null;
    } else {
      throw new Error('JwtVerifier needs a secret or a JWKS URL');
    }
    this.rules = {
      clockTolerance: options.clockToleranceSeconds ?? 5,
      issuer: options.issuer,
      audience: options.audience ?? [],
    };
  }

  /** Fetches the JWKS ahead (nothing to do with a shared secret). */
  start(): void {
    this.jwks?.start();
  }

  stop(): void {
    this.jwks?.stop();
  }

  /** False until the JWKS was loaded once; tokens are refused until then. */
  get ready(): boolean {
    return this.jwks === null || this.jwks.ready;
  }

  /** Throws TokenRejectedError. */
  verifySync(token: string | undefined): VerifiedToken {
    if (!token) throw new TokenRejectedError('missing', 'no token');
    const payload = this.secret ? verifyHs256(token, this.secret) : this.verifyWithJwks(token);
    return checkClaims(payload, this.rules);
  }

  private verifyWithJwks(token: string): Record<string, unknown> {
    const jwks = this.jwks as JwksCache;
    if (!jwks.ready) throw new TokenRejectedError('invalid', 'signing keys not loaded yet');
    const { header, payload, signingInput, signature } = parseJws(token);
    const alg = header.alg as string;
    const kid = header.kid;
    if (kid !== undefined && typeof kid !== 'string') throw new TokenRejectedError('invalid', 'bad kid');
    // An unknown kid starts a (rate-limited) refetch but is refused now: the client retries.
    const keys = jwks.candidates(kid);
    if (!keys.some((k) => verifySignature(alg, k, signingInput, signature))) {
      throw new TokenRejectedError('invalid', 'signature verification failed');
    }
    return payload;
  }
}
