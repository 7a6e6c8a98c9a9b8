import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey, sign as rsaSign, type JsonWebKey } from 'node:crypto';
import fc from 'fast-check';
import { exportPKCS8 } from 'jose';
import {
  freePort,
  spawnService,
  startCluster,
  testSigningKey,
  TestJwksServer,
  TEST_JWT_SECRET,
  upgradeStatus,
  waitReady,
  type ServiceProcess,
  type TestCluster,
  type TestSigningKey,
} from '@notify/testing';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'notify,other-api';
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: 'victim',
  iss: ISSUER,
  aud: 'notify',
  exp: now() + 300,
  ...extra,
});
const hmac = (hash: string, secret: string | Buffer, header: object, payload: object): string => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
};
const hs256 = (payload: object, header: object = { alg: 'HS256' }): string =>
  hmac('sha256', TEST_JWT_SECRET, header, payload);
const rs256 = async (key: TestSigningKey, payload: object, kid = key.kid): Promise<string> => {
  const input = `${b64({ alg: 'RS256', kid })}.${b64(payload)}`;
  const pem = createPrivateKey(await exportPKCS8(key.privateKey));
  return `${input}.${rsaSign('sha256', Buffer.from(input), pem).toString('base64url')}`;
};

/**
 * Hostile tokens against real gateway processes, at the upgrade: every one gets 401 (or, for a
 * token too big for any header, no upgrade at all), and the well-formed token of each case is
 * accepted, so the refusals are not an accident of the setup.
 */
describe('JWT attacks at the upgrade', () => {
  let cluster: TestCluster;
  let jwks: TestJwksServer;
  let jwksGateway: ServiceProcess;
  let key: TestSigningKey;
  let otherKey: TestSigningKey;
  const hsPort = (): number => cluster.gateways[0].port;
  const status = (port: number, token: string, via: 'header' | 'query' = 'header'): Promise<number> =>
    via === 'header'
      ? upgradeStatus(port, '/v1/ws?device=d', { authorization: `Bearer ${token}` })
      : upgradeStatus(port, `/v1/ws?device=d&token=${encodeURIComponent(token)}`);

  before(async () => {
    [key, otherKey] = await Promise.all([testSigningKey('k1'), testSigningKey('k1')]);
    jwks = await new TestJwksServer().start();
    jwks.keys = [key.jwk];
    const env = { NOTIFY_JWT_ISSUER: ISSUER, NOTIFY_JWT_AUDIENCE: AUDIENCE };
    cluster = await startCluster({ gateways: 1, env });
    const port = await freePort();
    jwksGateway = spawnService('gateway', port, {
      ...cluster.env,
      ...env,
      NOTIFY_JWT_SECRET: '',
      NOTIFY_JWKS_URL: jwks.url,
      NOTIFY_GATEWAY_PORT: String(port),
      NOTIFY_NODE_ID: `${cluster.nodeId(0)}-jwks`,
    });
    await waitReady(jwksGateway);
  });
  after(async () => {
    await jwksGateway?.stop('SIGKILL');
    await cluster?.stop();
    await jwks?.stop();
  });

  it('accepts the well-formed tokens of both gateways, by header and by query', async () => {
    assert.equal(await status(hsPort(), hs256(claims())), 101);
    assert.equal(await status(hsPort(), hs256(claims({ aud: ['x', 'other-api'] })), 'query'), 101);
    assert.equal(await status(jwksGateway.port, await rs256(key, claims())), 101);
  });

  it('HS256 gateway: none, HS512, RS256 signed with the secret, and broken claims get 401', async () => {
    const { exp: _exp, ...noExp } = claims();
    const { sub: _sub, ...noSub } = claims();
    const unsigned = `${b64({ alg: 'none' })}.${b64(claims())}.`;
    const attacks: Record<string, string> = {
      'alg none': unsigned,
      'alg None': `${b64({ alg: 'None' })}.${b64(claims())}.`,
      'HS512 with the secret': hmac('sha512', TEST_JWT_SECRET, { alg: 'HS512' }, claims()),
      'RS256 header, HMAC with the secret': hmac('sha256', TEST_JWT_SECRET, { alg: 'RS256' }, claims()),
      'signed by another secret': hmac('sha256', 'x'.repeat(48), { alg: 'HS256' }, claims()),
      expired: hs256(claims({ exp: now() - 60 })),
      'nbf ahead': hs256(claims({ nbf: now() + 600 })),
      'no exp': hs256(noExp),
      'no sub': hs256(noSub),
      'sub with a wildcard': hs256(claims({ sub: 'user.*' })),
      'sub too long': hs256(claims({ sub: 'u'.repeat(129) })),
      'sub a number': hs256(claims({ sub: 42 })),
      'wrong iss': hs256(claims({ iss: 'https://evil.test' })),
      'no iss': hs256(claims({ iss: undefined })),
      'wrong aud': hs256(claims({ aud: 'evil' })),
      'aud list without ours': hs256(claims({ aud: ['evil', 'notify2'] })),
      'no aud': hs256(claims({ aud: undefined })),
      'crit header': hs256(claims(), { alg: 'HS256', crit: ['exp'] }),
      'two segments': hs256(claims()).split('.').slice(0, 2).join('.'),
      'four segments': `${hs256(claims())}.AAAA`,
      'truncated signature': hs256(claims()).slice(0, -5),
      'padding in a segment': `${hs256(claims())}==`,
      'payload swapped': `${hs256(claims()).split('.')[0]}.${b64(claims({ sub: 'admin' }))}.${hs256(claims()).split('.')[2]}`,
      'huge (7 KiB claim)': hs256(claims({ pad: 'x'.repeat(7 * 1024) })),
      empty: '',
    };
    for (const [label, token] of Object.entries(attacks)) {
      for (const via of ['header', 'query'] as const) {
        assert.equal(await status(hsPort(), token, via), 401, `${label} (${via})`);
      }
    }
  });

  it('a token larger than any header is refused without an upgrade', async () => {
    const huge = hs256(claims({ pad: 'x'.repeat(256 * 1024) }));
    for (const via of ['header', 'query'] as const) {
      const s = await status(hsPort(), huge, via);
      assert.ok(s !== 101 && (s === 0 || s >= 400), `${via}: ${s}`);
    }
    assert.equal(await status(hsPort(), hs256(claims())), 101, 'the node still serves');
  });

  it('JWKS gateway: another key, alg confusion with the public key, HS256 with the secret, none get 401', async () => {
    // The gateway's own public key, as an attacker would download it from the JWKS.
    const publicPem = createPublicKey({ key: key.jwk as JsonWebKey, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const attacks: Record<string, string> = {
      'RS256 by another key, same kid': await rs256(otherKey, claims()),
      'RS256 by another key, unknown kid': await rs256(otherKey, claims(), 'rotated-away'),
      'HS256 with the public key PEM as secret': hmac(
        'sha256',
        Buffer.from(publicPem),
        { alg: 'HS256', kid: 'k1' },
        claims(),
      ),
      'HS256 with the gateway secret': hs256(claims(), { alg: 'HS256', kid: 'k1' }),
      'alg none with a kid': `${b64({ alg: 'none', kid: 'k1' })}.${b64(claims())}.`,
      'ES256 header on the RSA key': (await rs256(key, claims())).replace(
        b64({ alg: 'RS256', kid: 'k1' }),
        b64({ alg: 'ES256', kid: 'k1' }),
      ),
      'PS256 header on an RS256 signature': (await rs256(key, claims())).replace(
        b64({ alg: 'RS256', kid: 'k1' }),
        b64({ alg: 'PS256', kid: 'k1' }),
      ),
      expired: await rs256(key, claims({ exp: now() - 60 })),
      'wrong aud': await rs256(key, claims({ aud: ['evil'] })),
      'wrong iss': await rs256(key, claims({ iss: 'https://evil.test' })),
    };
    for (const [label, token] of Object.entries(attacks)) {
      assert.equal(await status(jwksGateway.port, token), 401, label);
    }
  });

  it('generated garbage (fast-check) gets 401 on both gateways', async () => {
    const tokens = fc.sample(
      fc.oneof(
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.array(fc.base64String({ maxLength: 60 }), { minLength: 1, maxLength: 5 }).map((p) => p.join('.')),
        fc
          .tuple(fc.jsonValue(), fc.jsonValue(), fc.uint8Array({ maxLength: 256 }))
          .map(([h, p, s]) => `${b64(h)}.${b64(p)}.${Buffer.from(s).toString('base64url')}`),
      ),
      { numRuns: 40, seed: 20261204 },
    );
    for (const token of tokens) {
      for (const port of [hsPort(), jwksGateway.port]) {
        assert.equal(await status(port, token, 'query'), 401, JSON.stringify(token));
      }
    }
    assert.equal(await status(hsPort(), hs256(claims())), 101, 'the node still serves');
  });
});
