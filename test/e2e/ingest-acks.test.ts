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

    // Ingest's own counters, not the rows: a commit is visible in PostgreSQL before ingest has read
    // its answer (a loaded machine can keep it waiting for long), and the ack only follows that.
    // Both counters move in the same turn as the ack.
    const counted = async (): Promise<{ accepted: number; deadLettered: number }> => {
      const text = await (await fetch(`${cluster.ingestUrl}/metrics`)).text();
      const sum = (prefix: string, label = ''): number =>
        text
          .split('\n')
          .filter((l) => l.startsWith(prefix) && l.includes(label))
          .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      return {
        accepted: sum('notify_ingest_accepted_total{', 'transport="amqp"'),
        deadLettered: sum('notify_ingest_dead_lettered_total '),
      };
    };
    let seen = await counted();
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; seen = await counted()) {
      if (seen.accepted >= VALID && seen.deadLettered >= INVALID) break;
      await sleep(50);
    }
    assert.deepEqual(seen, { accepted: VALID, deadLettered: INVALID });
    const stored = await cluster.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications WHERE topic = 'acks'`,
    );
    assert.equal(stored[0].n, VALID);
    assert.equal((await channel.checkQueue(Topology.invalidQueue)).messageCount, INVALID);

    await sleep(200); // the last acks leave amqplib's buffers for the socket
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
