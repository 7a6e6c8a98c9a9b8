import { channelRoutingKey, DeliveryHeader, DeliveryKind, userRoutingKey } from '@notify/amqp';
import type { Bindings, ReadBroadcast, ReadChange } from '../core/ports';
import type { NodeQueue } from './node-queue';

/** The core's bindings and read broadcasts, as routing keys on this node's queue. */
export class BrokerBindings implements Bindings, ReadBroadcast {
  constructor(private readonly queue: NodeQueue) {}

  holdUser(userId: string): Promise<void> {
    return this.queue.hold(userRoutingKey(userId));
  }

  userBound(userId: string): Promise<void> {
    return this.queue.whenBound(userRoutingKey(userId));
  }

  unholdUser(userId: string): void {
    this.queue.unhold(userRoutingKey(userId));
  }

  acquireChannel(channel: string): Promise<void> {
    return this.queue.acquire(channelRoutingKey(channel));
  }

  releaseChannel(channel: string): void {
    this.queue.release(channelRoutingKey(channel));
  }

  /** The body is the v1 `read` frame, as nodes have always exchanged it (mixed versions agree). */
  publishRead(userId: string, version: number, change: ReadChange): Promise<void> {
    const body = JSON.stringify({
      type: 'read',
      ids: change.ids,
      unread: change.unread,
      asOfSeq: change.asOfSeq,
    });
    return this.queue.publish(userRoutingKey(userId), Buffer.from(body), DeliveryKind.Read, {
      [DeliveryHeader.userId]: userId,
      [DeliveryHeader.readVersion]: version,
    });
  }
}
