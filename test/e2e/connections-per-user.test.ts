import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '@notify/protocol';
import { signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';

const TTL_MS = 6000;

describe('connections per user, across the cluster', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({
      gateways: 2,
      env: { NOTIFY_MAX_CONNECTIONS_PER_USER: '2', NOTIFY_NODE_TTL_MS: String(TTL_MS) },
    });
  });
  after(async () => cluster?.stop());

  /** Opens a socket and waits for `ready`, or for the close that refuses it. */
  const attempt = async (gateway: number, user: string, device: string): Promise<TestClient> => {
    const c = await TestClient.connect(cluster.wsUrl(gateway, `device=${device}`), {
      authorization: `Bearer ${await signToken(user)}`,
    });
    await Promise.race([c.next('ready').catch(() => undefined), c.closed]);
    return c;
  };
  const connect = async (gateway: number, user: string, device: string): Promise<TestClient> => {
    const c = await attempt(gateway, user, device);
    assert.equal(c.closeCode, null, `${user}/${device} on gateway ${gateway} closed: ${c.closeReason}`);
    return c;
  };
  const rowsOf = async (user: string): Promise<number> =>
    Number(
      (
        await cluster.db.query<{ n: string }>(
          'SELECT count(*) AS n FROM user_connections WHERE user_id = $1',
          [user],
        )
      )[0]?.n,
    );
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const assertTooMany = (c: TestClient): void => {
    assert.equal(c.closeCode, CloseCode.RateLimited);
    assert.equal(c.closeReason, 'too many connections');
    assert.equal(c.all('ready').length, 0, 'refused before ready');
  };

  it('holds the limit over the connections a user has on every node, and frees a slot on close', async () => {
    const a = await connect(0, 'spread', 'a');
    const b = await connect(1, 'spread', 'b');
    await waitFor('both connections recorded', async () => (await rowsOf('spread')) === 2, 3000);
    assertTooMany(await attempt(0, 'spread', 'c'));
    assertTooMany(await attempt(1, 'spread', 'c'));
    await b.close();
    await waitFor('the closed connection forgotten', async () => (await rowsOf('spread')) === 1, 3000);
    const c = await connect(0, 'spread', 'c');
    await Promise.all([a.close(), c.close()]);
  });

  it('stops counting the connections of a SIGKILLed node within the TTL', async () => {
    await connect(0, 'stranded', 'a');
    await connect(0, 'stranded', 'b');
    await waitFor('both connections recorded', async () => (await rowsOf('stranded')) === 2, 3000);
    await cluster.gateways[0].stop('SIGKILL');
    const killedAt = Date.now();
    // The dead node's rows still count until its heartbeat is older than the TTL.
    assertTooMany(await attempt(1, 'stranded', 'c'));
    let c: TestClient | undefined;
    await waitFor(
      'a connection on the surviving node',
      async () => {
        const tried = await attempt(1, 'stranded', 'c');
        if (tried.closeCode === null) c = tried;
        else assertTooMany(tried);
        return c !== undefined;
      },
      TTL_MS + 2000,
    );
    assert.ok(Date.now() - killedAt >= TTL_MS - 2500, 'the rows counted until close to the TTL');
    // The surviving node deleted the dead node and, with it, its rows.
    await waitFor('the dead node’s rows deleted', async () => (await rowsOf('stranded')) === 1, TTL_MS);
    await c?.close();
  });

  it('removes what an earlier process with its node id left, when a node starts', async () => {
    await cluster.startGateway(0);
    await connect(0, 'restarted', 'a');
    await connect(0, 'restarted', 'b');
    await waitFor('both connections recorded', async () => (await rowsOf('restarted')) === 2, 3000);
    await cluster.gateways[0].stop('SIGKILL');
    const killedAt = Date.now();
    await cluster.startGateway(0);
    assert.equal(await rowsOf('restarted'), 0);
    const c = await connect(1, 'restarted', 'c');
    assert.ok(Date.now() - killedAt < TTL_MS, 'restarted within the TTL, so the TTL did not clean up');
    await c.close();
  });

  it('forgets a node’s connections at once when it stops cleanly (SIGTERM)', async () => {
    await connect(1, 'leaving', 'a');
    await waitFor('the connection recorded', async () => (await rowsOf('leaving')) === 1, 3000);
    await cluster.gateways[1].stop('SIGTERM');
    assert.equal(await rowsOf('leaving'), 0);
    const nodes = await cluster.db.query('SELECT 1 FROM gateway_nodes WHERE node_id = $1', [
      cluster.nodeId(1),
    ]);
    assert.equal(nodes.length, 0);
  });
});
