import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** A public key from a JWKS, with the algorithms it may verify. */
export interface VerificationKey {
  kid: string | undefined;
  algorithms: readonly string[];
  key: KeyObject;
}

const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const CURVE_ALGORITHM: Record<string, string> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
  Ed25519: 'EdDSA',
  Ed448: 'EdDSA',
};
/** Below this an RSA key is refused, as jose does: 1024-bit moduli are within reach. */
const MIN_RSA_BITS = 2048;

/**
 * The algorithms a JWK may verify: its own `alg` if it names one we accept for its type, else every
 * one its type allows. Symmetric (`oct`) and private keys, keys not for signatures, and keys we cannot
 * import give none, so `none` and HS* can never be checked against a public key.
 */
function algorithmsFor(jwk: Record<string, unknown>, key: KeyObject): string[] {
  let allowed: string[] = [];
  if (jwk.kty === 'RSA') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    allowed = bits >= MIN_RSA_BITS ? RSA_ALGORITHMS : [];
  } else if ((jwk.kty === 'EC' || jwk.kty === 'OKP') && typeof jwk.crv === 'string') {
    const alg = CURVE_ALGORITHM[jwk.crv];
    allowed = alg ? [alg] : [];
  }
  if (typeof jwk.alg === 'string') return allowed.includes(jwk.alg) ? [jwk.alg] : [];
  return allowed;
}

/** The usable keys of a JWKS document; anything else in it is skipped, not fatal. */
export function importJwks(document: unknown): VerificationKey[] {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('JWKS has no "keys" array');
  const usable: VerificationKey[] = [];
  for (const jwk of keys as unknown[]) {
    if (typeof jwk !== 'object' || jwk === null) continue;
    const fields = jwk as Record<string, unknown>;
    if (fields.use !== undefined && fields.use !== 'sig') continue;
    if (fields.d !== undefined || fields.kty === 'oct') continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: fields as JsonWebKey, format: 'jwk' });
    } catch {
      continue;
    }
    const algorithms = algorithmsFor(fields, key);
    if (algorithms.length === 0) continue;
    usable.push({ kid: typeof fields.kid === 'string' ? fields.kid : undefined, algorithms, key });
  }
  return usable;
}

/** Verifies a JWS signature with node:crypto, synchronously; `alg` must be one of `key.algorithms`. */
export function verifySignature(alg: string, k: VerificationKey, input: string, signature: Buffer): boolean {
  if (!k.algorithms.includes(alg)) return false;
  const data = Buffer.from(input);
  try {
    if (alg === 'EdDSA') return verify(null, data, k.key, signature);
    const hash = `sha${alg.slice(2)}`;
    if (alg.startsWith('RS')) return verify(hash, data, k.key, signature);
    if (alg.startsWith('PS')) {
      return verify(
        hash,
        data,
        {
          key: k.key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        },
        signature,
      );
    }
    // JWS carries ECDSA signatures as raw r||s, not DER.
    return verify(hash, data, { key: k.key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
