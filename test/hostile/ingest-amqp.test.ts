import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumeMessage } from 'amqplib';
import fc from 'fast-check';
import { ERROR_HEADER, Topology } from '@notify/amqp';
import { signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';
import { hostileAmqpMessage } from './generators';

/**
 * Hostile messages to notify.ingest: each is dead-lettered to notify.ingest.invalid at once, with its
 * reason in x-notify-error, nothing of them is stored, and a valid message sent after them is
 * delivered. Counts go to docs/reliability.md, "Hostile input".
 */
const MESSAGES = 250;
const LIMIT_BYTES = 64 * 1024;
const seed = Number(process.env.NOTIFY_HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('hostile AMQP input to ingest', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 1, env: { NOTIFY_BODY_LIMIT_BYTES: String(LIMIT_BYTES) } });
  });
  after(async () => cluster?.stop());

  it(`dead-letters ${MESSAGES} malformed messages at once with a reason, then delivers a valid one`, async (t) => {
    const client = await TestClient.connect(cluster.wsUrl(0, 'device=d1'), {
      authorization: `Bearer ${await signToken('alice')}`,
    });
    await client.next('ready');
    const { channel } = await cluster.amqp();
    const dead = new Map<string, ConsumeMessage>();
    await channel.consume(Topology.invalidQueue, (m) => m && dead.set(String(m.properties.messageId), m), {
      noAck: true,
    });

    const messages = fc.sample(hostileAmqpMessage(LIMIT_BYTES), { numRuns: MESSAGES, seed });
    const started = Date.now();
    messages.forEach((m, i) =>
      channel.publish(Topology.ingestExchange, m.routingKey, m.content, {
        contentType: m.contentType,
        deliveryMode: 2,
        messageId: `bad-${i}`,
      }),
    );
    await channel.waitForConfirms();
    for (let i = 0; i < 200 && dead.size < MESSAGES; i++) await new Promise((r) => setTimeout(r, 50));
    const elapsed = Date.now() - started;
    const kinds = new Map<string, number>();
    messages.forEach((m, i) => {
      kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
      const label = `seed ${seed}, message ${i} (${m.kind}, key ${JSON.stringify(m.routingKey)}): ${m.content.toString('latin1').slice(0, 120)}`;
      const letter = dead.get(`bad-${i}`);
      assert.ok(letter, `not dead-lettered: ${label}`);
      const reason = letter.properties.headers?.[ERROR_HEADER] as unknown;
      assert.ok(typeof reason === 'string' && reason.length > 0, `no reason: ${label}`);
      assert.doesNotMatch(
        reason,
        /internal error/,
        `refused as a bug, not for its input: ${label}: ${reason}`,
      );
      assert.ok(letter.content.equals(m.content), `content changed: ${label}`);
    });
    t.diagnostic(`seed ${seed}; ${MESSAGES} dead-lettered in ${elapsed} ms; ${JSON.stringify([...kinds])}`);
    // "At once": a message held and retried (the store refusing it) would take seconds.
    assert.ok(elapsed < 5_000, `dead-lettering took ${elapsed} ms`);
    const stored = await cluster.db.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications');
    assert.equal(stored[0].n, 0, 'nothing of them was stored');

    channel.publish(
      Topology.ingestExchange,
      'notification.after.hostile',
      Buffer.from('{"userId":"alice","data":{"emoji":"\ud83d\ude00"}}'),
      { contentType: 'application/json', deliveryMode: 2, messageId: 'good-1' },
    );
    await channel.waitForConfirms();
    const delivered = await client.next('notification', 10_000);
    assert.equal(delivered.topic, 'after.hostile');
    assert.equal(delivered.seq, 1);
    assert.equal(cluster.ingest.child.exitCode, null, 'ingest is alive');
    await client.close();
  });
});
