import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '@notify/protocol';
import { signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';

describe('connection lifecycle: token expiry and graceful drain', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 1, env: { NOTIFY_DRAIN_MS: '3000' } });
  });
  after(async () => cluster?.stop());

  it('closes a socket with 4401 when its token expires', async () => {
    const client = await TestClient.connect(cluster.wsUrl(0, 'device=d'), {
      authorization: `Bearer ${await signToken('short-lived', { expiresInSeconds: 2 })}`,
    });
    await client.next('ready');
    const started = Date.now();
    assert.equal(await client.closed, CloseCode.TokenExpired);
    assert.ok(Date.now() - started < 4000, 'closed at exp (within the verifier’s clock tolerance)');
  });

  it('drains on SIGTERM: a reconnect frame with a jittered delay, close 1001, exit 0', async () => {
    const clients = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const c = await TestClient.connect(cluster.wsUrl(0, `device=d${i}`), {
          authorization: `Bearer ${await signToken(`drained-${i}`)}`,
        });
        await c.next('ready');
        return c;
      }),
    );
    const gateway = cluster.gateways[0];
    gateway.child.kill('SIGTERM');
    const delays: number[] = [];
    for (const c of clients) {
      delays.push((await c.next('reconnect')).afterMs);
      assert.equal(await c.closed, CloseCode.GoingAway);
    }
    assert.ok(
      delays.every((d) => Number.isInteger(d) && d >= 0 && d < 3000),
      String(delays),
    );
    assert.ok(new Set(delays).size > 1, 'reconnects are spread, not all at once');
    assert.equal(await gateway.exited, 0);
    assert.match(gateway.output(), /"msg":"draining"[\s\S]*"msg":"stopped"/);
  });
});
