import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '@notify/protocol';
import {
  metricValue,
  signToken,
  startCluster,
  TestClient,
  UpgradeRejected,
  type TestCluster,
} from '@notify/testing';

const CONNECTIONS = 'notify_gateway_connections';
const USERS = 'notify_gateway_users';
const ACKS = 'notify_gateway_acks_total';
const REPLAYS = 'notify_gateway_replays_total';
const DELIVERIES = 'notify_gateway_deliveries_total';

describe('gateway metrics: open connections, acks and replays, read from /metrics', () => {
  let cluster: TestCluster;
  let port: number;
  before(async () => {
    // Acks reach the device cursor quickly, so a reconnect can wait for it.
    cluster = await startCluster({ gateways: 1, env: { NOTIFY_ACK_FLUSH_MS: '50' } });
    port = cluster.gateways[0].port;
  });
  after(async () => cluster?.stop());

  async function connect(userId: string, device: string, token?: string): Promise<TestClient> {
    const client = await TestClient.connect(cluster.wsUrl(0, `device=${device}`), {
      authorization: `Bearer ${token ?? (await signToken(userId))}`,
    });
    await client.next('ready');
    return client;
  }

  /** Waits (at most 10 s) until the metric reads `want`: a close reaches the gateway after the client saw it. */
  async function reaches(name: string, want: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    let value = await metricValue(port, name);
    while (value !== want) {
      if (Date.now() > deadline) assert.fail(`${name} is ${value}, expected ${want}`);
      await new Promise((r) => setTimeout(r, 50));
      value = await metricValue(port, name);
    }
  }

  /** The gateway handles a socket's frames in order: once the pong is back, every frame before it was. */
  async function handled(client: TestClient): Promise<void> {
    client.send({ type: 'ping', ref: 'sync' });
    assert.equal((await client.next('pong')).ref, 'sync');
  }

  async function notifications(client: TestClient, count: number): Promise<number[]> {
    const seqs: number[] = [];
    for (let i = 0; i < count; i++) seqs.push((await client.next('notification', 10_000)).seq);
    return seqs;
  }

  it('counts open connections and users up and down, whoever closes, and never a refused upgrade', async () => {
    await reaches(CONNECTIONS, 0);
    const a1 = await connect('ann', 'a1');
    const a2 = await connect('ann', 'a2');
    const b = await connect('bob', 'b1');
    await reaches(CONNECTIONS, 3);
    await reaches(USERS, 2);

    await assert.rejects(connect('eve', 'e1', 'not-a-jwt'), (err) => err instanceof UpgradeRejected);
    assert.equal(await metricValue(port, CONNECTIONS), 3, 'a 401 at upgrade opened no connection');

    await a1.close();
    await reaches(CONNECTIONS, 2);
    await reaches(USERS, 2); // ann still has a2
    // The server closes this one (a frame over the size limit): it leaves the gauge too.
    b.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(40_000) }));
    assert.equal(await b.closed, CloseCode.MessageTooBig);
    await reaches(CONNECTIONS, 1);
    await reaches(USERS, 1);
    await a2.close();
    await reaches(CONNECTIONS, 0);
    await reaches(USERS, 0);
  });

  it('counts each ack frame that advances the cursor, not stale ones or ones beyond what was delivered', async () => {
    const client = await connect('acker', 'd1');
    for (let i = 0; i < 3; i++)
      assert.equal((await cluster.post({ userId: 'acker', topic: 'a' })).status, 202);
    assert.deepEqual(await notifications(client, 3), [1, 2, 3]);
    const before = await metricValue(port, ACKS);

    client.send({ type: 'ack', seq: 1 });
    client.send({ type: 'ack', seq: 3 });
    await handled(client);
    assert.equal((await metricValue(port, ACKS)) - before, 2);

    client.send({ type: 'ack', seq: 2 }); // behind the cursor: nothing to advance
    client.send({ type: 'ack', seq: 9, ref: 'ahead' }); // never delivered: refused
    assert.equal((await client.next('error')).ref, 'ahead');
    await handled(client);
    assert.equal((await metricValue(port, ACKS)) - before, 2);
    await client.close();
  });

  it('counts as replays exactly the unacked notifications a reconnecting device gets again, not live ones', async () => {
    const first = await connect('roamer', 'phone');
    const replaysBefore = await metricValue(port, REPLAYS);
    for (let i = 0; i < 5; i++)
      assert.equal((await cluster.post({ userId: 'roamer', topic: 'r' })).status, 202);
    assert.deepEqual(await notifications(first, 5), [1, 2, 3, 4, 5]);
    assert.equal((await metricValue(port, REPLAYS)) - replaysBefore, 0, 'live deliveries are not replays');

    first.send({ type: 'ack', seq: 2 });
    await handled(first);
    await first.close();
    // The next connection resumes from the stored cursor: wait until the ack is there.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const rows = await cluster.db.query<{ acked: number }>(
        `SELECT acked_seq::int AS acked FROM device_cursors WHERE user_id = 'roamer' AND device_id = 'phone'`,
      );
      if (rows[0]?.acked === 2) break;
      if (Date.now() > deadline) assert.fail(`the cursor is ${rows[0]?.acked}, expected 2`);
      await new Promise((r) => setTimeout(r, 50));
    }

    const deliveriesBefore = await metricValue(port, DELIVERIES);
    const second = await connect('roamer', 'phone');
    assert.deepEqual(await notifications(second, 3), [3, 4, 5], 'the unacked ones again');
    await handled(second);
    assert.deepEqual(second.all('notification'), [], 'nothing more was redelivered');
    assert.equal((await metricValue(port, REPLAYS)) - replaysBefore, 3);
    assert.equal((await metricValue(port, DELIVERIES)) - deliveriesBefore, 3, 'a replay is a delivery too');

    assert.equal((await cluster.post({ userId: 'roamer', topic: 'live' })).status, 202);
    assert.deepEqual(await notifications(second, 1), [6]);
    assert.equal((await metricValue(port, REPLAYS)) - replaysBefore, 3, 'live again after the replay');
    assert.equal((await metricValue(port, DELIVERIES)) - deliveriesBefore, 4);
    await second.close();
  });
});
