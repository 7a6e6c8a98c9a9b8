import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Topology } from '@notify/amqp';
import { startCluster, type TestCluster } from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A message of notify.ingest is acked when it is stored or dead-lettered, and only then: one whose ack
 * never went out shows here as a message the broker hands back once ingest's connection is gone.
 */
describe('ingest acks every AMQP message it stored or dead-lettered', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 1 });
  });
  after(async () => cluster?.stop());

  it('leaves nothing for the broker to redeliver after a kill, across stored and refused messages', async () => {
    const { channel } = await cluster.amqp();
    const VALID = 600;
    const INVALID = 7;
    for (let i = 0; i < VALID + INVALID; i++) {
      const invalid = i % 87 === 5;
      channel.publish(
        Topology.ingestExchange,
        'notification.acks',
        Buffer.from(invalid ? '{not json' : JSON.stringify({ userId: `acks-${i % 13}`, topic: 'acks' })),
        // Half with a message-id, half without: a redelivery of the latter would be stored twice.
        { contentType: 'application/json', deliveryMode: 2, ...(i % 2 ? { messageId: `acks-${i}` } : {}) },
      );
      // Spread out, so that completions interleave with arrivals.
      if (i % 50 === 49) await sleep(3);
    }
    await channel.waitForConfirms();

    let stored = 0;
    let refused = 0;
    for (let i = 0; i < 200 && (stored < VALID || refused < INVALID); i++) {
      stored = (
        await cluster.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM notifications WHERE topic = 'acks'`,
        )
      )[0].n;
      refused = (await channel.checkQueue(Topology.invalidQueue)).messageCount;
      if (stored < VALID || refused < INVALID) await sleep(50);
    }
    assert.equal(stored, VALID);
    assert.equal(refused, INVALID);

    await sleep(200); // the last acks are on their way
    cluster.ingest.child.kill('SIGKILL');
    await cluster.ingest.exited;
    await sleep(300); // the broker notices the closed connection and requeues what was unacked
    assert.equal((await channel.checkQueue(Topology.ingestQueue)).messageCount, 0, 'every message was acked');

    // And a new ingest finds nothing to store again.
    await cluster.startIngest();
    await sleep(500);
    const again = await cluster.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications WHERE topic = 'acks'`,
    );
    assert.equal(again[0].n, VALID);
  });
});
