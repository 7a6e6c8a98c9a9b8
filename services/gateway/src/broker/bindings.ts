import { channelRoutingKey, DeliveryHeader, DeliveryKind, userRoutingKey } from '@notify/amqp';
import { encodePreferencesFrame, encodeReadFrame } from '@notify/protocol';
import type {
  Bindings,
  PreferencesBroadcast,
  PreferencesChange,
  ReadBroadcast,
  ReadChange,
} from '../core/ports';
import type { NodeQueue } from './node-queue';

/** The core's bindings and read broadcasts, as routing keys on this node's queue. */
export class BrokerBindings implements Bindings, ReadBroadcast, PreferencesBroadcast {
  constructor(
    private readonly queue: NodeQueue,
    private readonly nodeId: string,
  ) {}

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
    const body = encodeReadFrame(change);
    return this.queue.publish(userRoutingKey(userId), Buffer.from(body), DeliveryKind.Read, {
      [DeliveryHeader.userId]: userId,
      [DeliveryHeader.readVersion]: version,
    });
  }

  /** The body is the v1 `preferences` frame, as ingest publishes it; this node's sockets skip it. */
  publishPreferences(userId: string, change: PreferencesChange): Promise<void> {
    const body = encodePreferencesFrame(change.preferences, change.version);
    return this.queue.publish(userRoutingKey(userId), Buffer.from(body), DeliveryKind.Preferences, {
      [DeliveryHeader.userId]: userId,
      [DeliveryHeader.originNode]: this.nodeId,
    });
  }
}
