import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  signToken,
  startCluster,
  TestClient,
  TEST_API_KEY,
  TEST_JWT_SECRET,
  upgradeStatus,
  type TestCluster,
} from '@notify/testing';

/**
 * Tokens, secrets and query strings never reach a log line, even at debug level: a gateway and an
 * ingest that saw good, bad and expired tokens in headers and query strings are searched for them.
 */
describe('no token in any log line', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ gateways: 1, env: { NOTIFY_LOG_LEVEL: 'debug' } });
  });
  after(() => cluster?.stop());

  it('a debug-level gateway and ingest never print a token, a secret or a query string', async () => {
    const port = cluster.gateways[0].port;
    const good = await signToken('logged-user');
    const expired = await signToken('logged-user', { expiresInSeconds: -60 });
    const forged = await signToken('logged-user', { secret: 'an-attacker-secret-that-is-long-enough' });
    const marker = 'QUERYMARKER7f3a9c';

    const c = await TestClient.connect(cluster.wsUrl(0, `device=d&token=${good}&x=${marker}`));
    await c.next('ready');
    await c.close();
    for (const token of [expired, forged, `${marker}.${marker}.${marker}`]) {
      assert.equal(await upgradeStatus(port, `/v1/ws?device=d&token=${token}&x=${marker}`), 401);
      assert.equal(
        await upgradeStatus(port, `/v1/ws?device=d&x=${marker}`, { authorization: `Bearer ${token}` }),
        401,
      );
    }
    assert.equal(await upgradeStatus(port, `/v1/ws?device=bad.device&token=${good}&x=${marker}`), 400);
    // Ingest: a wrong API key, and tokens in its query string.
    const res = await fetch(`${cluster.ingestUrl}/v1/notifications?token=${good}&x=${marker}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${forged}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'logged-user', topic: 't' }),
    });
    assert.equal(res.status, 401);
    await sleep(300);

    const logs = [cluster.gateways[0].output(), cluster.ingest.output()].join('\n');
    assert.ok(logs.includes('"level":"debug"'), 'the services did log at debug level');
    assert.ok(logs.includes('socket closed'), 'the accepted socket was logged');
    for (const [label, secret] of Object.entries({
      'good token': good,
      'its signature': good.split('.')[2],
      'expired token': expired,
      'forged token': forged,
      'query string': marker,
      'jwt secret': TEST_JWT_SECRET,
      'api key': TEST_API_KEY,
    })) {
      assert.ok(!logs.includes(secret), `${label} appears in a log line`);
    }
  });
});
