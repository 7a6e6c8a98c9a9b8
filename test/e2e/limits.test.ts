import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '@notify/protocol';
import { signToken, startCluster, TestClient, UpgradeRejected, type TestCluster } from '@notify/testing';

describe('per-connection and per-user limits', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({
      gateways: 1,
      env: { NOTIFY_MAX_FRAMES_PER_SECOND: '5', NOTIFY_MAX_CONNECTIONS_PER_USER: '2' },
    });
  });
  after(async () => cluster?.stop());

  const connect = async (user: string, device: string): Promise<TestClient> => {
    const c = await TestClient.connect(cluster.wsUrl(0, `device=${device}`), {
      authorization: `Bearer ${await signToken(user)}`,
    });
    await c.next('ready');
    return c;
  };

  it('refuses a user’s connection over the per-node limit with HTTP 429', async () => {
    const a = await connect('limited', 'a');
    const b = await connect('limited', 'b');
    await assert.rejects(
      connect('limited', 'c'),
      (err: unknown) => err instanceof UpgradeRejected && err.status === 429,
    );
    await a.close();
    const c = await connect('limited', 'c');
    await Promise.all([b.close(), c.close()]);
  });

  it('refuses frames over the rate with rate_limited, then closes a client that keeps going with 4429', async () => {
    const client = await connect('chatty', 'x');
    for (let i = 0; i < 6; i++) client.send({ type: 'ping', ref: String(i) });
    for (let i = 0; i < 5; i++) assert.equal((await client.next('pong')).ref, String(i));
    assert.equal((await client.next('error')).code, 'rate_limited');
    for (let i = 0; i < 10; i++) client.send({ type: 'ping' });
    assert.equal(await client.closed, CloseCode.RateLimited);
  });
});
