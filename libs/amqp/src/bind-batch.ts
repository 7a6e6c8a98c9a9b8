import type { Channel } from 'amqplib';

/** The method id of queue.bind in AMQP 0-9-1 (class 50, method 20), as amqplib's `defs` spell it. */
const QUEUE_BIND = (50 << 16) | 20;

interface RawChannel {
  sendImmediately(method: number, fields: Record<string, unknown>): unknown;
}

function rawOf(channel: Channel): RawChannel | null {
  const raw = channel as unknown as Partial<RawChannel>;
  return typeof raw.sendImmediately === 'function' ? (raw as RawChannel) : null;
}

/**
 * Binds `queue` to `exchange` under every key, in one round trip instead of one each.
 *
 * amqplib allows one RPC in flight per channel, so `bindQueue` in a loop (or under `Promise.all`)
 * waits a round trip, plus the broker's turn, per key: during a reconnect storm a gateway's sockets
 * queued behind each other's binds for seconds. queue.bind has a no-wait flag; every key but the
 * last is sent with it and the last as an ordinary RPC. The broker handles a channel's methods in
 * order, so its bind-ok means every earlier bind is in place, and a failed one closes the channel,
 * which rejects that RPC. amqplib's public API has no no-wait bind; if its channel ever stops
 * having `sendImmediately`, this falls back to one RPC per key.
 */
export async function bindQueueBatch(
  channel: Channel,
  queue: string,
  exchange: string,
  keys: readonly string[],
): Promise<void> {
  if (keys.length === 0) return;
  const raw = rawOf(channel);
  if (!raw) {
    for (const key of keys) await channel.bindQueue(queue, exchange, key);
    return;
  }
  const last = keys.length - 1;
  for (let i = 0; i < last; i++)
    raw.sendImmediately(QUEUE_BIND, {
      ticket: 0,
      queue,
      exchange,
      routingKey: keys[i],
      nowait: true,
      arguments: {},
    });
  await channel.bindQueue(queue, exchange, keys[last]);
}
