import { channelRoutingKey, DeliveryHeader, DeliveryKind } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';
import type { PresenceBus, PresenceMember } from '../core/ports';
import type { NodeQueue } from './node-queue';

/** The body of a `presence` message between gateways. */
export interface PresenceMessage {
  joins: PresenceMember[];
  leaves: string[];
}

/**
 * Presence events on notify.delivery with the channel's routing key: they reach exactly the nodes
 * bound to the channel, i.e. those with local subscribers (this one too, which ignores its own).
 */
export class BrokerPresenceBus implements PresenceBus {
  constructor(
    private readonly queue: NodeQueue,
    private readonly log: JsonLogger,
  ) {}

  get connected(): boolean {
    return this.queue.connected;
  }

  publish(
    channel: string,
    nodeKey: string,
    joins: readonly PresenceMember[],
    leaves: readonly string[],
  ): void {
    const body = Buffer.from(JSON.stringify({ joins, leaves }));
    this.queue
      .publish(channelRoutingKey(channel), body, DeliveryKind.Presence, {
        [DeliveryHeader.channel]: channel,
        [DeliveryHeader.node]: nodeKey,
      })
      // Lost with the connection: the registration after the reconnect publishes the whole state.
      .catch((err: unknown) => this.log.warn('presence publish failed', { channel, error: err }));
  }
}

/** A `presence` message's body, or null when it is not one. */
export function parsePresenceMessage(body: Buffer): PresenceMessage | null {
  try {
    const v = JSON.parse(body.toString('utf8')) as Partial<PresenceMessage> | null;
    if (!v || !Array.isArray(v.joins) || !Array.isArray(v.leaves)) return null;
    if (!v.leaves.every((u) => typeof u === 'string')) return null;
    const joins: PresenceMember[] = [];
    for (const m of v.joins as unknown[]) {
      if (typeof m !== 'object' || m === null) return null;
      const { userId, info } = m as { userId?: unknown; info?: unknown };
      if (typeof userId !== 'string') return null;
      joins.push(
        typeof info === 'object' && info !== null
          ? { userId, info: info as PresenceMember['info'] }
          : { userId },
      );
    }
    return { joins, leaves: v.leaves };
  } catch {
    return null;
  }
}
