import type { JsonLogger } from '@notify/logging';
import type { ChannelsRepository, StoredChannelMessage } from '@notify/store';
import type { GatewayMetrics } from '../../metrics/gateway-metrics';
import type { Bindings, ChannelOutput } from '../ports';
import { catchUp, newStreamCursor, onLive, type StreamCursor } from '../user-stream/ordered-stream';

export const CHANNEL_PAGE = 500;

/** One channel on this node. */
export interface ChannelNode {
  readonly name: string;
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

/**
 * Fan-out of channel messages: one publish per message per node and protocol (ChannelOutput),
 * whatever the number of subscribers. The node publishes offsets strictly in order (a gap is
 * filled from the store first), so every subscriber sees them in order without gaps.
 */
export class ChannelFanout {
  private readonly nodes = new Map<string, ChannelNode>();

  constructor(
    private readonly outputs: readonly ChannelOutput[],
    private readonly channels: ChannelsRepository,
    private readonly bindings: Bindings,
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
    this.bindings.releaseChannel(node.name);
  }

  /**
   * Bind first, then read the newest offset, so nothing published in between is missed. Retries
   * until it succeeds (or nobody wants the channel any more), so joiners never see a failed start.
   */
  private async start(node: ChannelNode): Promise<void> {
    await this.bindings.acquireChannel(node.name);
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

  /** A live message from the node queue. `body` is published as is. Returns whether it was published. */
  live(name: string, offset: number, body: Uint8Array): boolean {
    const node = this.nodes.get(name);
    if (!node) return false;
    switch (onLive(node.stream, offset)) {
      case 'deliver':
        for (const output of this.outputs) output.publishLive(name, body);
        this.published(node, offset);
        return true;
      case 'duplicate':
        this.metrics.duplicatesDropped.inc();
        return false;
      case 'gap':
        this.metrics.gapsFilled.inc();
        void this.catchUp(node);
        return false;
      case 'held':
        return false;
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
          deliver: (m: StoredChannelMessage) => {
            for (const output of this.outputs) output.publishStored(node.name, m);
            this.published(node, m.offset);
            return true;
          },
        },
        CHANNEL_PAGE,
      );
    } catch (err) {
      // The target stays set: retry shortly (a live message or a reconnect may also trigger it).
      this.log.error('channel catch-up failed', { channel: node.name, error: err });
      setTimeout(() => {
        if (this.nodes.get(node.name) === node && !node.stream.catchingUp) void this.catchUp(node);
      }, 1000).unref();
    }
  }

  private published(node: ChannelNode, offset: number): void {
    node.stream.position = offset;
    this.metrics.channelPublishes.inc();
  }
}
