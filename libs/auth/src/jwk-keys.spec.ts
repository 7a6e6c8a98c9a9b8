import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { signWith, testSigningKey } from '@notify/testing';
import { importJwks, verifySignature } from './jwk-keys';
import { parseJws } from './jws';

const verifies = (token: string, jwks: unknown): boolean => {
  const { header, signingInput, signature } = parseJws(token);
  return importJwks(jwks).some((k) => verifySignature(header.alg as string, k, signingInput, signature));
};

describe('JWKS keys verified synchronously with node:crypto', () => {
  for (const alg of ['RS256', 'RS512', 'PS256', 'PS384', 'ES256', 'ES384', 'ES512', 'EdDSA']) {
    it(`verifies ${alg} as jose signs it, and refuses a flipped signature`, async () => {
      const key = await testSigningKey('k', alg);
      const token = await signWith(key, { sub: 'u' });
      assert.equal(verifies(token, { keys: [key.jwk] }), true);
      const [h, p, s] = token.split('.');
      const flipped = Buffer.from(s, 'base64url');
      flipped[flipped.length - 1] ^= 1;
      assert.equal(verifies(`${h}.${p}.${flipped.toString('base64url')}`, { keys: [key.jwk] }), false);
    });
  }

  it('takes the algorithm from the key: an RSA key with alg RS256 does not verify PS256', async () => {
    const key = await testSigningKey('k', 'PS256');
    const token = await signWith(key, { sub: 'u' });
    assert.equal(verifies(token, { keys: [{ ...key.jwk, alg: 'RS256' }] }), false);
    const { alg: _alg, ...withoutAlg } = key.jwk;
    assert.equal(verifies(token, { keys: [withoutAlg] }), true, 'without alg, the key type decides');
  });

  it('skips symmetric, private, encryption and short RSA keys, and keys it cannot import', () => {
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...short.publicKey.export({ format: 'jwk' }), kid: 'short' };
    const input = `${Buffer.from('{"alg":"RS256","kid":"short"}').toString('base64url')}.e30`;
    const sig = sign('sha256', Buffer.from(input), short.privateKey).toString('base64url');
    assert.equal(verifies(`${input}.${sig}`, { keys: [jwk] }), false);
    const keys = importJwks({
      keys: [
        { kty: 'oct', k: 'c2VjcmV0', alg: 'HS256' },
        { ...short.privateKey.export({ format: 'jwk' }) },
        { kty: 'EC', crv: 'P-256', x: 'garbage', y: 'garbage' },
        { ...jwk, use: 'enc' },
        'not an object',
      ],
    });
    assert.deepEqual(keys, []);
    assert.throws(() => importJwks({ nokeys: true }), /keys/);
  });
});
