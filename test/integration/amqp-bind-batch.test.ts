import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { assertDeliveryExchange, bindQueueBatch, Topology } from '@notify/amqp';
import { createTestVhost, type TestVhost } from '@notify/testing';

describe('bindQueueBatch and the delivery topology', () => {
  let vhost: TestVhost;
  let connection: ChannelModel;
  before(async () => {
    vhost = await createTestVhost('notify-bind-batch');
    connection = await connect(vhost.url);
  });
  after(async () => {
    await connection?.close().catch(() => undefined);
    await vhost?.drop();
  });

  async function queueOn(channel: Channel): Promise<string> {
    await assertDeliveryExchange(channel);
    return (await channel.assertQueue('', { exclusive: true })).queue;
  }

  it('binds every key with a single round trip, and each binding routes', async () => {
    const channel = await connection.createChannel();
    const queue = await queueOn(channel);
    const keys = Array.from({ length: 1000 }, (_, i) => `user.batch-${i}@example.com`);
    const rpc = channel.bindQueue.bind(channel);
    let rpcs = 0;
    channel.bindQueue = (...args: Parameters<Channel['bindQueue']>) => {
      rpcs++;
      return rpc(...args);
    };
    await bindQueueBatch(channel, queue, Topology.gatewayExchange, keys);
    assert.equal(rpcs, 1, 'only the last key waits for its bind-ok');

    const bound = (await vhost.bindings(Topology.gatewayExchange))
      .filter((b) => b.destination === queue)
      .map((b) => b.routing_key);
    assert.deepEqual(bound.sort(), [...keys].sort());

    // Producers publish to the topic exchange; its `#` binding hands every key to the direct one.
    for (const key of [keys[0], keys[999], 'user.not-bound'])
      channel.publish(Topology.deliveryExchange, key, Buffer.from(key));
    const received: string[] = [];
    for (let i = 0; i < 50 && received.length < 2; i++) {
      const message = await channel.get(queue, { noAck: true });
      if (message) received.push(message.content.toString());
      else await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(received, [keys[0], keys[999]]);
    assert.equal(await channel.get(queue, { noAck: true }), false, 'unbound keys do not arrive');
    await channel.close();
  });

  it('rejects when a bind in the batch fails, instead of reporting the batch done', async () => {
    const channel = await connection.createChannel();
    const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
    channel.on('error', () => undefined);
    const queue = await queueOn(channel);
    await assert.rejects(
      bindQueueBatch(channel, queue, 'notify.no-such-exchange', ['user.a', 'user.b', 'user.c']),
      /NOT_FOUND|404|closed/i,
    );
    await closed;
  });

  it('does nothing for no keys', async () => {
    const channel = await connection.createChannel();
    const queue = await queueOn(channel);
    await bindQueueBatch(channel, queue, Topology.gatewayExchange, []);
    assert.deepEqual(
      (await vhost.bindings(Topology.gatewayExchange)).filter((b) => b.destination === queue),
      [],
    );
    await channel.close();
  });
});
