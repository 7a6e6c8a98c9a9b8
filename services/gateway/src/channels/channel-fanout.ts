import type { TemplatedApp } from 'uWebSockets.js';
import { channelRoutingKey } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';
import { encodeMessageFrame } from '@notify/protocol';
import type { ChannelsRepository, StoredChannelMessage } from '@notify/store';
import type { NodeQueue } from '../delivery/node-queue';
import type { GatewayMetrics } from '../http/metrics';
import { catchUp, newStreamCursor, onLive, type StreamCursor } from '../delivery/ordered-stream';

const PAGE = 500;

export const channelTopic = (channel: string): string => `c:${channel}`;

/** One channel on this node. */
export interface ChannelNode {
  readonly name: string;
  readonly topic: string;
  /** Local subscriptions (joining or active). The routing key is bound while this is above 0. */
  refs: number;
  /** Resolves once the key is bound and the newest offset is known. */
  ready: Promise<void>;
  /**
   * `position` is the highest offset published to the local topic: every subscriber on it has
   * everything up to it. Catching up at start, on a gap and after a broker reconnect.
   */
  stream: StreamCursor;
}

export const encodeStoredMessage = (m: StoredChannelMessage): string =>
  encodeMessageFrame({ ...m, createdAt: m.createdAt.toISOString() });

/**
 * Fan-out of channel messages with uWebSockets.js native topics: one `app.publish` per message per
 * node, whatever the number of subscribers. The node publishes offsets strictly in order (a gap is
 * filled from the store first), so every socket on the topic sees them in order without gaps.
 */
export class ChannelFanout {
  private readonly nodes = new Map<string, ChannelNode>();

  constructor(
    private readonly app: TemplatedApp,
    private readonly channels: ChannelsRepository,
    private readonly nodeQueue: NodeQueue,
    private readonly metrics: GatewayMetrics,
    private readonly log: JsonLogger,
  ) {}

  get activeChannels(): number {
    return this.nodes.size;
  }

  /** Takes a reference on a channel for a joining subscriber; the first one binds and loads it. */
  acquire(name: string): ChannelNode {
    let node = this.nodes.get(name);
    if (!node) {
      const created: ChannelNode = {
        name,
        topic: channelTopic(name),
        refs: 0,
        ready: Promise.resolve(),
        stream: newStreamCursor(),
      };
      created.ready = this.start(created);
      this.nodes.set(name, (node = created));
    }
    node.refs++;
    return node;
  }

  release(node: ChannelNode): void {
    if (--node.refs > 0) return;
    if (this.nodes.get(node.name) === node) this.nodes.delete(node.name);
    this.nodeQueue.release(channelRoutingKey(node.name));
  }

  /**
   * Bind first, then read the newest offset, so nothing published in between is missed. Retries
   * until it succeeds (or nobody wants the channel any more), so joiners never see a failed start.
   */
  private async start(node: ChannelNode): Promise<void> {
    await this.nodeQueue.acquire(channelRoutingKey(node.name));
    for (let attempt = 0; ; attempt++) {
      try {
        const state = await this.channels.state(node.name);
        node.stream.position = Math.max(node.stream.position, state.lastOffset);
        break;
      } catch (err) {
        if (node.refs === 0) return;
        this.log.warn('channel start failed; retrying', { channel: node.name, attempt, error: err });
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
    if (node.stream.target > node.stream.position) await this.catchUp(node);
    else node.stream.catchingUp = false;
  }

  /** A live message from the node queue. `frame` is published as is. */
  live(name: string, offset: number, frame: Uint8Array): void {
    const node = this.nodes.get(name);
    if (!node) return;
    switch (onLive(node.stream, offset)) {
      case 'deliver':
        return this.publish(node, frame, offset);
      case 'duplicate':
        return void this.metrics.duplicatesDropped.inc();
      case 'gap':
        this.metrics.gapsFilled.inc();
        return void this.catchUp(node);
    }
  }

  /** After a broker reconnect, live messages may be missing: every channel re-checks the store. */
  resyncAll(): void {
    for (const node of this.nodes.values()) if (!node.stream.catchingUp) void this.catchUp(node);
  }

  private async catchUp(node: ChannelNode): Promise<void> {
    try {
      await catchUp(
        node.stream,
        {
          fetchAfter: (after, limit) => this.channels.listAfter(node.name, after, limit),
          numberOf: (m: StoredChannelMessage) => m.offset,
          deliver: (m: StoredChannelMessage) => (this.publish(node, encodeStoredMessage(m), m.offset), true),
        },
        PAGE,
      );
    } catch (err) {
      // The target stays set: retry shortly (a live message or a reconnect may also trigger it).
      this.log.error('channel catch-up failed', { channel: node.name, error: err });
      setTimeout(() => {
        if (this.nodes.get(node.name) === node && !node.stream.catchingUp) void this.catchUp(node);
      }, 1000).unref();
    }
  }

  private publish(node: ChannelNode, frame: Uint8Array | string, offset: number): void {
    this.app.publish(node.topic, frame, false);
    node.stream.position = offset;
    this.metrics.channelPublishes.inc();
  }
}
