import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { JwtVerifier } from './jwt-verifier';
import { TokenRejectedError } from './token-rejected.error';

const SECRET = 'spec-secret-spec-secret-spec-secret!';
const key = new TextEncoder().encode(SECRET);
const verifier = new JwtVerifier({ secret: SECRET });
const now = (): number => Math.floor(Date.now() / 1000);

describe('synchronous HS256 verification', () => {
  it('accepts what jose signs, with claims', async () => {
    // One expiry for both sides: a second boundary between signing and checking must not matter.
    const expiresAt = now() + 60;
    const token = await new SignJWT({ channels: ['a', 'b.*'] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('u@x.io')
      .setExpirationTime(expiresAt)
      .sign(key);
    assert.deepEqual(verifier.verifySync(token), {
      userId: 'u@x.io',
      expiresAt,
      channels: ['a', 'b.*'],
    });
  });

  it('refuses tampered payloads, other algorithms, expired and not-yet-valid tokens', async () => {
    const good = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime(now() + 60)
      .sign(key);
    const [h, , s] = good.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ sub: 'admin', exp: now() + 60 })).toString(
      'base64url',
    );
    const hs512 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('u')
      .setExpirationTime(now() + 60)
      .sign(new TextEncoder().encode(SECRET.repeat(2)));
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${forgedPayload}.`;
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime(now() - 60)
      .sign(key);
    const future = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setNotBefore(now() + 600)
      .setExpirationTime(now() + 900)
      .sign(key);
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').sign(key);
    for (const [token, problem] of [
      [`${h}.${forgedPayload}.${s}`, 'invalid'],
      [hs512, 'invalid'],
      [none, 'invalid'],
      [expired, 'expired'],
      [future, 'invalid'],
      [noExp, 'invalid'],
      ['a.b', 'invalid'],
      ['', 'missing'],
    ] as const) {
      assert.throws(
        () => verifier.verifySync(token),
        (err: unknown) => err instanceof TokenRejectedError && err.problem === problem,
        token,
      );
    }
  });
});
