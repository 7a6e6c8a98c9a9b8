import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { JwtVerifier } from '@notify/auth';
import type { UpgradeRequest } from '../../core/protocol-adapter';
import { authorizeUpgrade } from './upgrade-auth';

const SECRET = 'unit-test-secret-unit-test-secret-0123';
const verifier = new JwtVerifier({ secret: SECRET });
const sign = (
  claims: Record<string, unknown>,
  sub = 'u1',
  exp = Math.floor(Date.now() / 1000) + 60,
): Promise<string> =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(SECRET));

describe('authorizeUpgrade', () => {
  it('accepts a bearer token and reads device, since and channel grants', async () => {
    const token = await sign({ channels: ['news', 'team.*'] });
    const d = await authorizeUpgrade(
      { url: '/v1/ws', authorization: `Bearer ${token}`, origin: '', query: 'device=abc_1&since=7' },
      verifier,
      [],
    );
    assert.ok(d.ok);
    assert.equal(d.fields.userId, 'u1');
    assert.deepEqual(d.fields.channels, ['news', 'team.*']);
    assert.equal(d.fields.deviceId, 'abc_1');
    assert.equal(d.fields.since, 7);
  });

  it('accepts ?token= for browsers', async () => {
    const d = await authorizeUpgrade(
      { url: '/v1/ws', authorization: '', origin: '', query: `device=d&token=${await sign({})}` },
      verifier,
      [],
    );
    assert.ok(d.ok);
    assert.equal(d.fields.since, null);
  });

  for (const [label, query, status] of [
    ['missing device', 'since=1', '400 Bad Request'],
    ['device too long', `device=${'a'.repeat(65)}`, '400 Bad Request'],
    ['device with a dot', 'device=a.b', '400 Bad Request'],
    ['negative since', 'device=d&since=-1', '400 Bad Request'],
    ['no token', 'device=d', '401 Unauthorized'],
  ] as const) {
    it(`refuses ${label} with ${status}`, async () => {
      const d = await authorizeUpgrade({ url: '/v1/ws', authorization: '', origin: '', query }, verifier, []);
      assert.equal(d.ok, false);
      assert.equal(!d.ok && d.status, status);
    });
  }

  it('refuses expired tokens, a sub that is not a user id and an alg other than HS256', async () => {
    for (const token of [
      await sign({}, 'u1', Math.floor(Date.now() / 1000) - 60),
      await sign({}, 'user.*'),
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsImV4cCI6OTk5OTk5OTk5OX0.',
    ]) {
      const d = await authorizeUpgrade(
        { url: '/v1/ws', authorization: `Bearer ${token}`, origin: '', query: 'device=d' },
        verifier,
        [],
      );
      assert.equal(!d.ok && d.status, '401 Unauthorized');
    }
  });

  it('enforces the Origin allow-list when one is configured', async () => {
    const token = await sign({});
    const req = { url: '/v1/ws', authorization: `Bearer ${token}`, query: 'device=d' };
    assert.equal(
      (await authorizeUpgrade({ ...req, origin: 'https://evil.example' }, verifier, ['https://app.example']))
        .ok,
      false,
    );
    assert.equal(
      (await authorizeUpgrade({ ...req, origin: 'https://app.example' }, verifier, ['https://app.example']))
        .ok,
      true,
    );
  });

  it('checks iss and aud when the verifier is configured with them', async () => {
    const strict = new JwtVerifier({ secret: SECRET, issuer: 'https://idp', audience: ['notify', 'x'] });
    const req = (token: string): UpgradeRequest => ({
      url: '/v1/ws',
      authorization: `Bearer ${token}`,
      origin: '',
      query: 'device=d',
    });
    assert.ok(authorizeUpgrade(req(await sign({ iss: 'https://idp', aud: ['y', 'x'] })), strict, []).ok);
    for (const claims of [
      { aud: 'notify' },
      { iss: 'https://other', aud: 'notify' },
      { iss: 'https://idp' },
    ]) {
      const d = authorizeUpgrade(req(await sign(claims)), strict, []);
      assert.equal(!d.ok && d.status, '401 Unauthorized', JSON.stringify(claims));
    }
  });

  it('answers 503 while the JWKS keys are not loaded yet (the node is not ready either)', async () => {
    // Not started: no key set was loaded.
    const jwks = new JwtVerifier({ jwks: { url: 'http://127.0.0.1:9/jwks.json' } });
    const d = authorizeUpgrade(
      { url: '/v1/ws', authorization: `Bearer ${await sign({})}`, origin: '', query: 'device=d' },
      jwks,
      [],
    );
    assert.equal(!d.ok && d.status, '503 Service Unavailable');
  });
});
