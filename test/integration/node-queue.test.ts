import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ChannelModel } from 'amqplib';
import { Topology } from '@notify/amqp';
import { JsonLogger } from '@notify/logging';
import { createTestVhost, type TestVhost } from '@notify/testing';
import { NodeQueue } from '../../services/gateway/src/delivery/node-queue';

const LINGER_MS = 400;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('NodeQueue bindings, reference counted with a linger (real RabbitMQ)', () => {
  let vhost: TestVhost;
  let queue: NodeQueue;
  let producer: ChannelModel;
  const received: string[] = [];
  before(async () => {
    vhost = await createTestVhost('notify-node-queue');
    queue = new NodeQueue({
      amqpUrl: vhost.url,
      nodeId: 'nq-test',
      unbindLingerMs: LINGER_MS,
      log: new JsonLogger('gateway', {}, 'error'),
      onMessage: (m) => received.push(m.fields.routingKey),
      onResync: () => undefined,
    });
    await queue.start();
    producer = await connect(vhost.url);
  });
  after(async () => {
    await queue?.close().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await vhost?.drop();
  });

  const bound = async (): Promise<string[]> =>
    (await vhost.bindings(Topology.gatewayExchange))
      .filter((b) => b.destination === queue.queueName)
      .map((b) => b.routing_key)
      .sort();

  it('binds a key while any holder needs it, keeps it over the linger, then unbinds it', async () => {
    await Promise.all([queue.acquire('user.ann'), queue.acquire('user.ann'), queue.acquire('user.bob')]);
    assert.deepEqual(await bound(), ['user.ann', 'user.bob']);
    assert.equal(queue.boundKeys, 2);
    await queue.acquire('user.ann');

    queue.release('user.ann');
    queue.release('user.ann');
    queue.release('user.bob');
    await sleep(LINGER_MS * 2);
    assert.deepEqual(await bound(), ['user.ann'], 'ann still has a holder; bob is gone after the linger');

    queue.release('user.ann');
    await sleep(LINGER_MS / 4);
    assert.deepEqual(await bound(), ['user.ann'], 'lingering');
    await queue.acquire('user.ann');
    await sleep(LINGER_MS * 2);
    assert.deepEqual(await bound(), ['user.ann'], 'taken again within the linger: never unbound');

    queue.release('user.ann');
    queue.release('user.ann'); // one more than acquired: ignored
    await sleep(LINGER_MS * 2);
    assert.deepEqual(await bound(), []);
    assert.equal(queue.boundKeys, 0);
  });

  it('routes what producers publish to the keys it holds, and only those', async () => {
    const keys = Array.from({ length: 500 }, (_, i) => `user.many-${i}`);
    await Promise.all(keys.map((k) => queue.acquire(k)));
    assert.equal((await bound()).length, 500);
    const channel = await producer.createChannel();
    for (const key of [keys[0], 'user.nobody', keys[499]])
      channel.publish(Topology.deliveryExchange, key, Buffer.from('{}'));
    for (let i = 0; i < 50 && received.length < 2; i++) await sleep(20);
    await sleep(100);
    assert.deepEqual(received, [keys[0], keys[499]]);
    await channel.close();
    for (const k of keys) queue.release(k);
    await sleep(LINGER_MS * 3);
    assert.deepEqual(await bound(), []);
  });
});
