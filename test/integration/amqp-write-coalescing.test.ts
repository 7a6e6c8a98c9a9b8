import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { connect, type ChannelModel } from 'amqplib';
import { coalesceAmqplibWrites } from '@notify/amqp';
import { createTestVhost, type TestVhost } from '@notify/testing';

/** Socket writes (syscalls, one per `_write` or `_writev`) while `work` runs. */
async function countWrites(socket: Socket, work: () => Promise<void>): Promise<number> {
  const target = socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  let writes = 0;
  const originals = { _write: target._write, _writev: target._writev };
  for (const name of ['_write', '_writev'] as const) {
    const original = originals[name];
    target[name] = function (this: unknown, ...args: unknown[]) {
      writes++;
      return original.apply(this, args);
    };
  }
  try {
    await work();
  } finally {
    Object.assign(target, originals);
  }
  return writes;
}

describe('amqplib write coalescing', () => {
  let vhost: TestVhost;
  let connection: ChannelModel;
  before(async () => {
    vhost = await createTestVhost('notify-coalesce');
  });
  after(async () => {
    await connection?.close().catch(() => undefined);
    await vhost?.drop();
  });

  it('sends the frames of one burst of publishes and acks in a handful of socket writes, not one each', async () => {
    assert.equal(coalesceAmqplibWrites(), true, 'amqplib internals should be where we expect them');
    assert.equal(coalesceAmqplibWrites(), true, 'and patching twice is harmless');
    connection = await connect(vhost.url);
    const socket = (connection.connection as unknown as { stream: Socket }).stream;
    const channel = await connection.createConfirmChannel();
    const queue = (await channel.assertQueue('', { exclusive: true })).queue;
    const count = 500;
    const writes = await countWrites(socket, async () => {
      for (let i = 0; i < count; i++) channel.sendToQueue(queue, Buffer.from(`{"i":${i}}`));
      await channel.waitForConfirms();
    });
    assert.ok(writes < count / 10, `${writes} socket writes for ${count} publishes`);

    // Everything arrived, in order: coalescing changes how frames travel, not what travels.
    const received: number[] = [];
    await channel.prefetch(count);
    await new Promise<void>((resolve) => {
      void channel.consume(queue, (message) => {
        if (!message) return;
        received.push((JSON.parse(message.content.toString()) as { i: number }).i);
        channel.ack(message);
        if (received.length === count) resolve();
      });
    });
    assert.deepEqual(
      received,
      Array.from({ length: count }, (_, i) => i),
    );
  });
});
