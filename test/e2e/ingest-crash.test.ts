import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { Topology } from '@notify/amqp';
import { signToken, startCluster, TestClient, TEST_API_KEY, type TestCluster } from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ingest killed between receipt and commit', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 1 });
  });
  after(async () => cluster?.stop());

  it('loses nothing that was acknowledged, and the retries store each notification once', async () => {
    const client = await TestClient.connect(cluster.wsUrl(0, 'device=crash-dev'), {
      authorization: `Bearer ${await signToken('crash-user')}`,
    });
    await client.next('ready');
    assert.equal((await cluster.post({ userId: 'crash-user', topic: 'before.crash' })).status, 202);
    assert.equal((await client.next('notification')).seq, 1);

    // Hold the user's sequence row, so ingest receives the next events but blocks before committing.
    const locker = new Client({ connectionString: cluster.db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT * FROM user_streams WHERE user_id = 'crash-user' FOR UPDATE`);

    const httpAttempt = fetch(`${cluster.ingestUrl}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'crash-user', topic: 'via.http', idempotencyKey: 'http-retry-1' }),
    }).then(
      (res) => res.status,
      () => 'connection lost' as const,
    );
    const { channel } = await cluster.amqp();
    channel.publish(
      Topology.ingestExchange,
      'notification.via.amqp',
      Buffer.from(JSON.stringify({ userId: 'crash-user' })),
      { contentType: 'application/json', deliveryMode: 2, messageId: 'amqp-retry-1' },
    );
    await channel.waitForConfirms(); // acknowledged to the producer by the broker

    // Both ingest transactions are now inside the database, waiting on our lock.
    let waiting = 0;
    for (let i = 0; i < 100 && waiting < 2; i++) {
      const rows = await cluster.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'notify-ingest' AND wait_event_type = 'Lock'`,
      );
      waiting = rows[0].n;
      if (waiting < 2) await sleep(50);
    }
    assert.equal(waiting, 2, 'HTTP and AMQP events are both between receipt and commit');

    cluster.ingest.child.kill('SIGKILL');
    await cluster.ingest.exited;
    assert.equal(await httpAttempt, 'connection lost', 'the HTTP producer was never acknowledged');
    await locker.query('ROLLBACK');
    await locker.end();
    const afterKill = await cluster.db.query<{ seq: number }>(
      `SELECT seq::int FROM notifications WHERE user_id = 'crash-user' ORDER BY seq`,
    );
    assert.deepEqual(
      afterKill.map((r) => r.seq),
      [1],
      'nothing half-written',
    );

    await cluster.startIngest();
    // The broker redelivers the unacked AMQP event to the new ingest process.
    const redelivered = await client.next('notification', 15_000);
    assert.equal(redelivered.seq, 2);
    assert.equal(redelivered.topic, 'via.amqp');

    // The HTTP producer retries with its idempotency key, twice: one notification.
    const retry = await cluster.post({
      userId: 'crash-user',
      topic: 'via.http',
      idempotencyKey: 'http-retry-1',
    });
    const again = await cluster.post({
      userId: 'crash-user',
      topic: 'via.http',
      idempotencyKey: 'http-retry-1',
    });
    assert.equal(retry.status, 202);
    assert.deepEqual(again.body, retry.body);
    assert.equal((await client.next('notification')).seq, 3);

    // The AMQP producer's duplicate publish (same message-id) stores nothing new either.
    channel.publish(
      Topology.ingestExchange,
      'notification.via.amqp',
      Buffer.from(JSON.stringify({ userId: 'crash-user' })),
      {
        contentType: 'application/json',
        deliveryMode: 2,
        messageId: 'amqp-retry-1',
      },
    );
    await channel.waitForConfirms();
    await sleep(500);
    const final = await cluster.db.query<{ seq: number; topic: string }>(
      `SELECT seq::int, topic FROM notifications WHERE user_id = 'crash-user' ORDER BY seq`,
    );
    assert.deepEqual(final, [
      { seq: 1, topic: 'before.crash' },
      { seq: 2, topic: 'via.amqp' },
      { seq: 3, topic: 'via.http' },
    ]);
    assert.deepEqual(client.all('notification'), [], 'the duplicate was not delivered as a new notification');
    await client.close();
  });
});
