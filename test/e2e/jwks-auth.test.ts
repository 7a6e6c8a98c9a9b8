import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import {
  freePort,
  spawnService,
  startCluster,
  TestClient,
  TestJwksServer,
  TEST_JWT_SECRET,
  UpgradeRejected,
  upgradeStatus,
  waitReady,
  type TestCluster,
} from '@notify/testing';

/** Deployments with an identity provider: RS256 tokens verified against a JWKS URL, keys fetched ahead. */
describe('JWKS authentication', () => {
  let cluster: TestCluster;
  let jwks: Server;
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  let otherKey: CryptoKey;

  before(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    publicKey = pair.publicKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const port = await freePort();
    jwks = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => jwks.listen(port, '127.0.0.1', resolve));
    cluster = await startCluster({
      gateways: 1,
      env: { NOTIFY_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, NOTIFY_JWT_SECRET: '' },
    });
  });
  after(async () => {
    await cluster?.stop();
    jwks?.close();
  });

  const sign = (key: CryptoKey, kid = 'k1', sub = 'idp-user'): Promise<string> =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject(sub)
      .setExpirationTime('5m')
      .sign(key);

  const status = async (token: string): Promise<number> => {
    try {
      const c = await TestClient.connect(cluster.wsUrl(0, 'device=d'), { authorization: `Bearer ${token}` });
      const ready = await c.next('ready');
      assert.equal(ready.userId, 'idp-user');
      await c.close();
      return 101;
    } catch (err) {
      if (err instanceof UpgradeRejected) return err.status;
      throw err;
    }
  };

  it('accepts a token signed by a key of the JWKS and delivers to its subject', async () => {
    const c = await TestClient.connect(cluster.wsUrl(0, 'device=d'), {
      authorization: `Bearer ${await sign(privateKey)}`,
    });
    await c.next('ready');
    await cluster.post({ userId: 'idp-user', topic: 'via.jwks' });
    assert.equal((await c.next('notification')).topic, 'via.jwks');
    await c.close();
  });

  it('refuses tokens signed by another key, with an unknown kid, or with the HS256 secret', async () => {
    assert.equal(await status(await sign(otherKey)), 401);
    assert.equal(await status(await sign(otherKey, 'unknown-kid')), 401);
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('idp-user')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    assert.equal(await status(hs), 401, 'no algorithm confusion: the secret is not a key here');
  });

  it('is not ready, and answers upgrades 503, until the JWKS could be fetched; then ready on its own', async () => {
    const jwksPort = await freePort();
    const port = await freePort();
    const late = spawnService('gateway', port, {
      ...cluster.env,
      NOTIFY_GATEWAY_PORT: String(port),
      NOTIFY_NODE_ID: `${cluster.nodeId(0)}-late`,
      NOTIFY_JWKS_URL: `http://127.0.0.1:${jwksPort}/jwks.json`,
    });
    const server = new TestJwksServer();
    try {
      let answer: Response | undefined;
      for (let i = 0; i < 100 && !answer; i++) {
        answer = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (!answer) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(answer?.status, 503);
      const body = (await answer?.json()) as { checks: { tokenKeys: boolean } };
      assert.equal(body.checks.tokenKeys, false);
      const token = await sign(privateKey);
      assert.equal(await upgradeStatus(port, '/v1/ws?device=d', { authorization: `Bearer ${token}` }), 503);
      server.keys = [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }];
      await server.start(jwksPort);
      await waitReady(late);
      assert.equal(await upgradeStatus(port, '/v1/ws?device=d', { authorization: `Bearer ${token}` }), 101);
    } finally {
      await late.stop('SIGKILL');
      await server.stop();
    }
  });
});
