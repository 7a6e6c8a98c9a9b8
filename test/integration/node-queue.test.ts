import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ChannelModel } from 'amqplib';
import { Topology } from '@notify/amqp';
import { JsonLogger } from '@notify/logging';
import { createTestVhost, management, type TestVhost } from '@notify/testing';
import { NodeQueue } from '../../services/gateway/src/broker/node-queue';

const LINGER_MS = 400;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('NodeQueue bindings, reference counted with a linger (real RabbitMQ)', () => {
  let vhost: TestVhost;
  let queue: NodeQueue;
  let producer: ChannelModel;
  const received: string[] = [];
  /** What the gateway's session registry would list: keys of users with a socket here. */
  const held = new Set<string>();
  before(async () => {
    vhost = await createTestVhost('notify-node-queue');
    queue = new NodeQueue({
      amqpUrl: vhost.url,
      nodeId: 'nq-test',
      unbindLingerMs: LINGER_MS,
      log: new JsonLogger('gateway', {}, 'error'),
    });
    await queue.start({
      onMessage: (m) => received.push(m.fields.routingKey),
      onResync: () => undefined,
      heldKeys: () => held.values(),
    });
    producer = await connect(vhost.url);
  });
  after(async () => {
    await queue?.close().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await vhost?.drop();
  });

  /** Closes the node queue's connection from the broker's side; it reconnects about 1 s later. */
  async function dropConnection(): Promise<void> {
    let connection: string | undefined;
    for (let i = 0; i < 100 && !connection; i++) {
      const consumers = (await (
        await management('GET', `/consumers/${encodeURIComponent(vhost.name)}`)
      ).json()) as { queue: { name: string }; channel_details: { connection_name: string } }[];
      connection = consumers.find((c) => c.queue.name === queue.queueName)?.channel_details.connection_name;
      if (!connection) await sleep(100);
    }
    assert.ok(connection, 'found the node queue consumer connection');
    await management('DELETE', `/connections/${encodeURIComponent(connection)}`);
  }

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
    // 500 unbinds after the linger: on a loaded machine they take longer than the linger itself.
    await sleep(LINGER_MS);
    for (let i = 0; i < 100 && (await bound()).length > 0; i++) await sleep(100);
    assert.deepEqual(await bound(), []);
  });

  it('binds a held key once for all its holders, lingers after the last, and rebinds it after a reconnect', async () => {
    // A user's first socket holds the key; the others only wait for that bind.
    held.add('user.cat');
    const first = queue.hold('user.cat');
    const second = queue.whenBound('user.cat');
    await Promise.all([first, second]);
    assert.deepEqual(await bound(), ['user.cat']);
    assert.equal(queue.boundKeys, 1);
    assert.deepEqual(await bound(), ['user.cat'], 'whenBound on a bound key binds nothing more');

    // The broker drops the connection: the reconnect's setup binds the held key again.
    // The queue goes too (bindings would outlive a connection), so only a fresh bind can route.
    await management(
      'DELETE',
      `/queues/${encodeURIComponent(vhost.name)}/${encodeURIComponent(queue.queueName)}`,
    );
    await dropConnection();
    for (let i = 0; i < 100 && !(await bound()).includes('user.cat'); i++) await sleep(100);
    assert.deepEqual(await bound(), ['user.cat'], 'rebound on the redeclared queue');

    held.delete('user.cat');
    queue.unhold('user.cat');
    await sleep(LINGER_MS / 4);
    assert.deepEqual(await bound(), ['user.cat'], 'lingering');
    held.add('user.cat');
    await queue.hold('user.cat');
    await sleep(LINGER_MS * 2);
    assert.deepEqual(await bound(), ['user.cat'], 'held again within the linger: never unbound');
    held.delete('user.cat');
    queue.unhold('user.cat');
    await sleep(LINGER_MS * 2);
    assert.deepEqual(await bound(), []);
    assert.equal(queue.boundKeys, 0);
  });

  it('unbinds a key whose linger ends while the broker is away, once it is back', async () => {
    held.add('user.dan');
    await queue.hold('user.dan');
    assert.deepEqual(await bound(), ['user.dan']);
    // The last socket leaves as the connection drops: the unbind falls due while disconnected. The
    // queue and its bindings outlive the connection, so the unbind must still reach the broker.
    await dropConnection();
    held.delete('user.dan');
    queue.unhold('user.dan');
    for (let i = 0; i < 100 && (await bound()).includes('user.dan'); i++) await sleep(100);
    assert.deepEqual(await bound(), [], 'unbound after the reconnect');
    assert.equal(queue.boundKeys, 0);
  });
});
