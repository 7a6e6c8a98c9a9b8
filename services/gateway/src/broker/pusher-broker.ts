import { channelRoutingKey, DeliveryHeader } from '@notify/amqp';
import { PUSHER_CLIENT_EVENT_KIND, PUSHER_SOCKET_HEADER, pusherUserRoutingKey } from '@notify/pusher';
import type { PusherBroker } from '../core/ports';
import type { NodeQueue } from './node-queue';

/** Pusher's client events and signed-in users, as messages and routing keys on the node queue. */
export class BrokerPusher implements PusherBroker {
  constructor(private readonly queue: NodeQueue) {}

  publishClientEvent(channel: string, body: Uint8Array, senderSocketId: string): Promise<void> {
    return this.queue.publish(channelRoutingKey(channel), Buffer.from(body), PUSHER_CLIENT_EVENT_KIND, {
      [DeliveryHeader.channel]: channel,
      [PUSHER_SOCKET_HEADER]: senderSocketId,
    });
  }

  /** Counted per key, like channels: one bind per user per node whatever the number of sockets. */
  acquireUser(appId: string, userId: string): Promise<void> {
    return this.queue.acquire(pusherUserRoutingKey(appId, userId));
  }

  releaseUser(appId: string, userId: string): void {
    this.queue.release(pusherUserRoutingKey(appId, userId));
  }
}
