import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { management, startCluster, type TestCluster } from '@notify/testing';

/*
 * The deterministic form of something the chaos run can only hit by chance: the broker connection of
 * ingest's consumer goes away (broker restart, network cut) after a notification was committed but
 * before its AMQP ack. The commit stands; the broker redelivers the unacked message to the reconnected
 * consumer, whose retry stores nothing new (message-id). A valid notification must never end up in
 * notify.ingest.invalid because an ack could not be sent.
 *
 * Only this test's vhost is touched: the consumer's connection is closed through the management API.
 */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ingest loses its consumer connection between commit and ack', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 1 });
  });
  after(async () => cluster?.stop());

  it(
    'keeps the committed notification out of notify.ingest.invalid and stores it once',
    { timeout: 60_000 },
    async () => {
      const user = 'held-user';
      assert.equal((await cluster.post({ userId: user, topic: 'first' })).status, 202);

      // Hold the user's sequence row, so that ingest takes the next message and waits before committing.
      const locker = new Client({ connectionString: cluster.db.url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('SELECT * FROM user_streams WHERE user_id = $1 FOR UPDATE', [user]);
      const { channel } = await cluster.amqp();
      channel.publish('notify.ingest', 'notification.held', Buffer.from(JSON.stringify({ userId: user })), {
        contentType: 'application/json',
        deliveryMode: 2,
        messageId: 'held-1',
      });
      await channel.waitForConfirms();
      let waiting = 0;
      for (let i = 0; i < 100 && waiting === 0; i++) {
        const rows = await cluster.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'notify-ingest' AND wait_event_type = 'Lock'`,
        );
        waiting = rows[0].n;
        if (waiting === 0) await sleep(50);
      }
      assert.equal(waiting, 1, 'ingest holds the message inside its transaction');

      // Close the consumer's connection (only that one: ingest's publishing connection stays up).
      const vhost = encodeURIComponent(cluster.vhost.name);
      let consumerConnection: string | undefined;
      for (let i = 0; i < 50 && !consumerConnection; i++) {
        const consumers = (await (await management('GET', `/consumers/${vhost}`)).json()) as {
          queue: { name: string };
          channel_details: { connection_name: string };
        }[];
        consumerConnection = consumers.find((c) => c.queue.name === 'notify.ingest')?.channel_details
          .connection_name;
        if (!consumerConnection) await sleep(100);
      }
      assert.ok(consumerConnection, 'found the consumer connection of notify.ingest');
      const closed = await management('DELETE', `/connections/${encodeURIComponent(consumerConnection)}`);
      assert.ok(closed.ok, `closing the consumer connection: HTTP ${closed.status}`);
      await sleep(200);
      await locker.query('ROLLBACK'); // ingest commits now; its ack has no channel to go to
      await locker.end();

      // The broker redelivers to the reconnected consumer, which finds the message-id and stores nothing new.
      let stored: { seq: number; topic: string }[] = [];
      for (let i = 0; i < 100 && stored.length < 2; i++) {
        stored = await cluster.db.query<{ seq: number; topic: string }>(
          'SELECT seq::int, topic FROM notifications WHERE user_id = $1 ORDER BY seq',
          [user],
        );
        if (stored.length < 2) await sleep(100);
      }
      await sleep(3000); // what ingest does about the failed ack happens within this
      const amqp = await connect(cluster.vhost.url);
      try {
        const check = await amqp.createChannel();
        const invalid = (await check.checkQueue('notify.ingest.invalid')).messageCount;
        const reasons: string[] = [];
        for (
          let message = await check.get('notify.ingest.invalid');
          message;
          message = await check.get('notify.ingest.invalid')
        ) {
          reasons.push(
            `${message.properties.messageId}: ${String(message.properties.headers?.['x-notify-error'])}`,
          );
        }
        assert.deepEqual(
          stored,
          [
            { seq: 1, topic: 'first' },
            { seq: 2, topic: 'held' },
          ],
          'committed once',
        );
        assert.equal(
          invalid,
          0,
          `a committed notification was dead-lettered:\n${reasons.slice(0, 5).join('\n')}`,
        );
        assert.equal((await check.checkQueue('notify.ingest')).messageCount, 0, 'the redelivery was acked');
      } finally {
        await amqp.close();
      }
    },
  );
});
