import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { signWith, testSigningKey, TestJwksServer, type TestSigningKey } from '@notify/testing';
import { JwtVerifier } from './jwt-verifier';
import { TokenRejectedError } from './token-rejected.error';

const until = async (what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
};
const accepts = (v: JwtVerifier, token: string): boolean => {
  try {
    return v.verifySync(token) !== undefined;
  } catch {
    return false;
  }
};
const rejected = (fn: () => unknown): void =>
  assert.throws(fn, (err: unknown) => err instanceof TokenRejectedError && err.problem === 'invalid');

describe('JWKS keys fetched ahead (JwksCache)', () => {
  let server: TestJwksServer;
  let k1: TestSigningKey;
  let k2: TestSigningKey;
  const verifiers: JwtVerifier[] = [];
  const verifierFor = (minRefetchSeconds = 1, refreshSeconds = 300): JwtVerifier => {
    const v = new JwtVerifier({ jwks: { url: server.url, minRefetchSeconds, refreshSeconds } });
    verifiers.push(v);
    v.start();
    return v;
  };

  before(async () => {
    [k1, k2] = await Promise.all([testSigningKey('k1'), testSigningKey('k2', 'ES256')]);
    server = await new TestJwksServer().start();
  });
  after(async () => {
    verifiers.forEach((v) => v.stop());
    await server.stop();
  });

  it('is not ready, and refuses every token, until a key set was loaded; then verifies synchronously', async () => {
    server.keys = [k1.jwk];
    server.status = 503;
    const v = verifierFor();
    await until('a failed fetch', () => server.requests >= 1);
    assert.equal(v.ready, false);
    const token = await signWith(k1, { sub: 'u1' });
    rejected(() => v.verifySync(token));
    server.status = 200;
    await until('a retry that loads the keys', () => v.ready);
    assert.equal(v.verifySync(token).userId, 'u1');
  });

  it('refetches on an unknown kid, at most once per interval, and refuses that token meanwhile', async () => {
    server.keys = [k1.jwk];
    const v = verifierFor(1);
    await until('keys', () => v.ready);
    await sleep(1_100); // past the refetch interval of the first fetch
    const before = server.requests;
    const rotated = await signWith(k2, { sub: 'u2' });
    // The key appears at the IdP: the first token with its kid is refused at once, and fetches.
    server.keys = [k1.jwk, k2.jwk];
    rejected(() => v.verifySync(rotated));
    for (let i = 0; i < 50; i++) rejected(() => v.verifySync(rotated));
    await until('the new key verifies once fetched', () => accepts(v, rotated));
    assert.equal(server.requests, before + 1, 'one refetch for 51 tokens');
    // Within the interval unknown kids fetch nothing more.
    const unknown = await signWith(k1, { sub: 'u1' }, { kid: 'nobody' });
    for (let i = 0; i < 50; i++) rejected(() => v.verifySync(unknown));
    await sleep(200);
    assert.equal(server.requests, before + 1, 'rate-limited');
    await sleep(1_000);
    rejected(() => v.verifySync(unknown));
    await until('one more refetch after the interval', () => server.requests === before + 2);
  });

  it('drops a key the JWKS no longer lists (rotation) and keeps the old set when a fetch fails', async () => {
    server.keys = [k1.jwk, k2.jwk];
    const v = verifierFor(1);
    await until('keys', () => v.ready);
    const old = await signWith(k1, { sub: 'u1' });
    assert.equal(v.verifySync(old).userId, 'u1');
    server.status = 500;
    await v.jwks?.refresh();
    assert.equal(v.verifySync(old).userId, 'u1', 'a failed fetch keeps the keys');
    server.status = 200;
    server.keys = [k2.jwk];
    await v.jwks?.refresh();
    rejected(() => v.verifySync(old));
    assert.equal(v.verifySync(await signWith(k2, { sub: 'u2' })).userId, 'u2');
  });

  it('refreshes periodically, sooner when Cache-Control max-age asks (never under the refetch interval)', async () => {
    server.keys = [k1.jwk];
    server.cacheControl = 'public, max-age=1';
    const v = verifierFor(1, 300);
    await until('keys', () => v.ready);
    const first = server.requests;
    await until('a refresh after max-age', () => server.requests >= first + 1, 3_000);
    server.cacheControl = undefined;
  });

  it('accepts a token without kid when one of the keys verifies it; never HS256 or none', async () => {
    server.keys = [k1.jwk, k2.jwk];
    const v = verifierFor();
    await until('keys', () => v.ready);
    assert.equal(v.verifySync(await signWith(k2, { sub: 'u2' }, { kid: null })).userId, 'u2');
    const header = (h: object): string => Buffer.from(JSON.stringify(h)).toString('base64url');
    const payload = header({ sub: 'u1', exp: Math.floor(Date.now() / 1000) + 60 });
    rejected(() => v.verifySync(`${header({ alg: 'none', kid: 'k1' })}.${payload}.`));
    rejected(() => v.verifySync(`${header({ alg: 'HS256', kid: 'k1' })}.${payload}.AAAA`));
    // ES256 named for the RSA key: the key's own alg decides.
    const es = await signWith(k2, { sub: 'u2' }, { kid: 'k1' });
    rejected(() => v.verifySync(es));
  });
});
