import type { Channel, ConfirmChannel } from 'amqplib';

/** Names fixed by the AMQP contract (docs/protocol.md, "AMQP"): producers and gateways rely on them. */
export const Topology = {
  ingestExchange: 'notify.ingest',
  ingestQueue: 'notify.ingest',
  deadLetterExchange: 'notify.ingest.dlx',
  invalidQueue: 'notify.ingest.invalid',
  deliveryExchange: 'notify.delivery',
  /** Direct exchange fed by notify.delivery with `#`; gateway node queues bind here (see below). */
  gatewayExchange: 'notify.delivery.gateways',
} as const;

/** Header carrying why ingest refused a message, on messages in notify.ingest.invalid. */
export const ERROR_HEADER = 'x-notify-error';
/** On a dead letter that could not carry all of the producer's message: what it lost, and why. */
export const DROPPED_HEADER = 'x-notify-dropped';

/**
 * A message that keeps failing for a reason ingest does not recognise (so it is neither committed nor
 * dead-lettered with a reason) is dead-lettered by the broker after this many deliveries, instead of
 * looping forever. Transient faults (database down) are retried in-process without a redelivery,
 * so only crashes count towards it.
 */
export const INGEST_DELIVERY_LIMIT = 20;

type AnyChannel = Channel | ConfirmChannel;

/**
 * Declares the ingest side: durable topic exchange → quorum queue (bound to every key, so ingest can
 * dead-letter an unknown routing key with a reason instead of the broker dropping it as unroutable),
 * and the dead-letter path. Idempotent; safe from every ingest instance at start-up and reconnect.
 */
export async function assertIngestTopology(channel: AnyChannel): Promise<void> {
  await channel.assertExchange(Topology.ingestExchange, 'topic', { durable: true });
  await channel.assertExchange(Topology.deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(Topology.invalidQueue, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
  await channel.bindQueue(Topology.invalidQueue, Topology.deadLetterExchange, '');
  await channel.assertQueue(Topology.ingestQueue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': Topology.deadLetterExchange,
      'x-delivery-limit': INGEST_DELIVERY_LIMIT,
    },
  });
  await channel.bindQueue(Topology.ingestQueue, Topology.ingestExchange, '#');
  await assertDeliveryExchange(channel);
}

/**
 * Producers of deliveries publish to the topic exchange notify.delivery (the contract). Gateways bind
 * their users' and channels' exact keys to a direct exchange behind it instead: on RabbitMQ a binding
 * on a topic exchange also updates its trie, and costs about twice what one on a direct exchange
 * does, which is what a reconnect storm of thousands of binds waits on. Every key a gateway binds is
 * exact, so it loses nothing; the one `#` binding between the two costs each message a trie walk of
 * one node. Anything else may still bind notify.delivery with patterns.
 */
export async function assertDeliveryExchange(channel: AnyChannel): Promise<void> {
  await channel.assertExchange(Topology.deliveryExchange, 'topic', { durable: true });
  await channel.assertExchange(Topology.gatewayExchange, 'direct', { durable: true });
  await channel.bindExchange(Topology.gatewayExchange, Topology.deliveryExchange, '#');
}

export const userRoutingKey = (userId: string): string => `user.${userId}`;
export const channelRoutingKey = (channel: string): string => `channel.${channel}`;
