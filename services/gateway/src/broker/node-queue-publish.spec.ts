import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { JsonLogger } from '@notify/logging';
import { FakeAmqpBroker } from '@notify/testing';
import { MAX_UNWRITTEN_PUBLISH_BYTES, NodeQueue } from './node-queue';

describe('NodeQueue publishes (fake broker)', () => {
  let broker: FakeAmqpBroker;
  let queue: NodeQueue;
  beforeEach(async () => {
    broker = new FakeAmqpBroker();
    queue = new NodeQueue({
      amqpUrl: 'amqp://unused',
      nodeId: 'spec',
      unbindLingerMs: 0,
      log: new JsonLogger('gateway', {}, 'error'),
      connect: () => broker as unknown as AmqpConnectionManager,
    });
    const consumer = {
      onMessage: (): void => undefined,
      onResync: (): void => undefined,
      heldKeys: () => [],
    };
    const starting = queue.start(consumer);
    await broker.up();
    await starting;
  });
  afterEach(() => queue.close());

  const publish = (key: string, bytes = 10): Promise<void> =>
    queue.publish(key, Buffer.alloc(bytes), 'read', {});

  it('writes while connected, and refuses at once while the broker is away instead of keeping it', async () => {
    await publish('user.a');
    broker.drop();
    await assert.rejects(publish('user.b'), /broker unavailable/);
    await broker.up();
    await publish('user.c');
    assert.deepEqual(
      broker.published.map((m) => m.routingKey),
      ['user.a', 'user.c'],
      'nothing refused went out later',
    );
  });

  it('keeps at most MAX_UNWRITTEN_PUBLISH_BYTES waiting on a blocked connection, then refuses', async () => {
    broker.blocked = true;
    const chunk = 1024 * 1024;
    const waiting = Array.from({ length: MAX_UNWRITTEN_PUBLISH_BYTES / chunk }, (_, i) =>
      publish(`user.${i}`, chunk),
    );
    await assert.rejects(publish('user.over', 1), /not keeping up/);
    broker.unblock();
    await Promise.all(waiting);
    assert.equal(broker.published.length, waiting.length);
    await publish('user.after', chunk);
    assert.equal(broker.published.at(-1)?.routingKey, 'user.after', 'room again once written');
  });
});
