import type { TemplatedApp } from 'uWebSockets.js';
import { channelRoutingKey } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';
import { encodeMessageFrame } from '@notify/protocol';
import type { ChannelsRepository, StoredChannelMessage } from '@notify/store';
import type { NodeQueue } from '../delivery/node-queue';
import type { GatewayMetrics } from '../http/metrics';

const PAGE = 500;

export const channelTopic = (channel: string): string => `c:${channel}`;

/** One channel on this node. */
export interface ChannelNode {
  readonly name: string;
  readonly topic: string;
  /** Local subscriptions (joining or active). The routing key is bound while this is above 0. */
  refs: number;
  /** Resolves once the key is bound and `lastOffset` is known. */
  ready: Promise<void>;
  /** Highest offset published to the local topic: every subscriber has everything up to it. */
  lastOffset: number;
  /** True while reading from the store (at start, on a gap, after a broker reconnect). */
  catchingUp: boolean;
  target: number;
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
        lastOffset: 0,
        catchingUp: true,
        target: 0,
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
        node.lastOffset = Math.max(node.lastOffset, state.lastOffset);
        break;
      } catch (err) {
        if (node.refs === 0) return;
        this.log.warn('channel start failed; retrying', { channel: node.name, attempt, error: err });
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
    if (node.target > node.lastOffset) await this.catchUp(node);
    else node.catchingUp = false;
  }

  /** A live message from the node queue. `frame` is published as is. */
  live(name: string, offset: number, frame: Uint8Array): void {
    const node = this.nodes.get(name);
    if (!node) return;
    if (node.catchingUp) {
      if (offset > node.target) node.target = offset;
    } else if (offset <= node.lastOffset) {
      this.metrics.duplicatesDropped.inc();
    } else if (offset === node.lastOffset + 1) {
      this.publish(node, frame, offset);
    } else {
      this.metrics.gapsFilled.inc();
      node.target = offset;
      void this.catchUp(node);
    }
  }

  /** After a broker reconnect, live messages may be missing: every channel re-checks the store. */
  resyncAll(): void {
    for (const node of this.nodes.values()) if (!node.catchingUp) void this.catchUp(node);
  }

  private async catchUp(node: ChannelNode): Promise<void> {
    node.catchingUp = true;
    try {
      for (;;) {
        const knownTarget = node.target;
        const rows = await this.channels.listAfter(node.name, node.lastOffset, PAGE);
        for (const m of rows) this.publish(node, encodeStoredMessage(m), m.offset);
        if (rows.length === PAGE) continue;
        if (node.target <= node.lastOffset) return;
        // Known before the query and still absent: trimmed out of history. Do not wait for it.
        if (knownTarget > node.lastOffset) node.lastOffset = knownTarget;
      }
    } catch (err) {
      // Left catching up with its target set: the next live message or reconnect retries.
      this.log.error('channel catch-up failed', { channel: node.name, error: err });
      setTimeout(() => void this.catchUp(node), 1000).unref();
      return;
    } finally {
      node.catchingUp = false;
    }
  }

  private publish(node: ChannelNode, frame: Uint8Array | string, offset: number): void {
    this.app.publish(node.topic, frame, false);
    node.lastOffset = offset;
    this.metrics.channelPublishes.inc();
  }
}
