import { setMaxListeners } from 'node:events';
import type { Channel } from 'amqplib';

const signals = new WeakMap<Channel, AbortSignal>();

/**
 * A signal that aborts once `channel` has closed (its connection dropped, or the broker closed it).
 * The broker then requeues the channel's unacked messages and redelivers them to the reconnected
 * consumer, so whoever still holds a message of that channel must let it go: it can no longer ack
 * it, and working on it further would only do the redelivered copy's work twice.
 *
 * Ingest's consumer sees a channel first when one of its messages reaches the handler, a few
 * microtasks after amqplib read the delivery; a close read in the same socket chunk has then
 * already been emitted. So a channel seen for the first time is also asked whether its connection
 * still has it (amqplib releases the channel's slot when it closes).
 */
export function closedSignal(channel: Channel): AbortSignal {
  let signal = signals.get(channel);
  if (!signal) {
    const controller = new AbortController();
    // Every message held on the channel (up to the prefetch) waits on this one signal.
    setMaxListeners(0, controller.signal);
    channel.once('close', () => controller.abort());
    if (wasReleased(channel)) controller.abort();
    signal = controller.signal;
    signals.set(channel, signal);
  }
  return signal;
}

/**
 * amqplib internals, read defensively: an open channel is in its connection's `channels` table under
 * its number (`ch`); a closed one's slot is null or another channel's. If amqplib stops looking like
 * that, this answers false and the 'close' event alone tells.
 */
function wasReleased(channel: Channel): boolean {
  const { ch, connection } = channel as unknown as {
    ch?: unknown;
    connection?: { channels?: unknown };
  };
  if (typeof ch !== 'number' || !Array.isArray(connection?.channels)) return false;
  const slot = (connection.channels as unknown[])[ch] as { channel?: unknown } | null | undefined;
  return slot === null || (slot !== undefined && slot.channel !== channel);
}
