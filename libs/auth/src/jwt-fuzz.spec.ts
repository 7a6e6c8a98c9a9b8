import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { testSigningKey, TestJwksServer } from '@notify/testing';
import { JwtVerifier } from './jwt-verifier';
import { TokenRejectedError } from './token-rejected.error';

const b64 = (v: unknown): string =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Strings shaped more and more like a JWT: random text, dotted segments, JSON-bearing segments. */
const garbageToken = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.base64String({ maxLength: 80 }), { minLength: 1, maxLength: 6 }).map((p) => p.join('.')),
  fc
    .tuple(fc.jsonValue(), fc.jsonValue(), fc.uint8Array({ maxLength: 300 }))
    .map(([h, p, s]) => `${b64(h)}.${b64(p)}.${Buffer.from(s).toString('base64url')}`),
  fc
    .tuple(
      fc.constantFrom('none', 'None', 'HS256', 'HS512', 'RS256', 'PS256', 'ES256', 'EdDSA', ''),
      fc.option(fc.constantFrom('k1', 'unknown', ''), { nil: undefined }),
      fc.record({ sub: fc.string(), exp: fc.integer(), channels: fc.anything() }, { requiredKeys: [] }),
      fc.uint8Array({ maxLength: 600 }),
    )
    .map(
      ([alg, kid, claims, sig]) =>
        `${b64({ alg, kid })}.${b64(claims)}.${Buffer.from(sig).toString('base64url')}`,
    ),
);

/** Every generated token is refused with TokenRejectedError, nothing else thrown, nothing accepted. */
const refusesAll = (verifier: JwtVerifier, runs: number): void =>
  fc.assert(
    fc.property(garbageToken, (token) => {
      try {
        verifier.verifySync(token);
      } catch (err) {
        return err instanceof TokenRejectedError;
      }
      return false;
    }),
    { numRuns: runs },
  );

describe('garbage tokens (fast-check)', () => {
  let server: TestJwksServer;
  let jwks: JwtVerifier;

  before(async () => {
    server = await new TestJwksServer().start();
    server.keys = [(await testSigningKey('k1')).jwk, (await testSigningKey('k2', 'ES256')).jwk];
    jwks = new JwtVerifier({ jwks: { url: server.url, minRefetchSeconds: 60 } });
    jwks.start();
    while (!jwks.ready) await sleep(10);
  });
  after(async () => {
    jwks.stop();
    await server.stop();
  });

  it('the HS256 verifier refuses 1,000 generated tokens', () => {
    refusesAll(new JwtVerifier({ secret: 'fuzz-secret-fuzz-secret-fuzz-secret!' }), 1_000);
  });

  it('the JWKS verifier refuses 1,000 generated tokens, and unknown kids fetch at most once', () => {
    const before = server.requests;
    refusesAll(jwks, 1_000);
    assert.ok(server.requests - before <= 1, `${server.requests - before} refetches`);
  });
});
