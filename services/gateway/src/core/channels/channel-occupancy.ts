import type { JsonLogger } from '@notify/logging';
import { WriteSlot } from '../write-slot';

/** How often subscription counts are written: the lag of the HTTP API's `subscription_count`. */
export const CHANNEL_OCCUPANCY_FLUSH_MS = 200;

export interface ChannelSubscriptionCount {
  channel: string;
  subscriptions: number;
}

/**
 * Where each node's subscriber counts of channels are kept (PostgreSQL: `channel_occupancy`), for
 * the Pusher HTTP API's channel queries. A row with `subscriptions` 0 is deleted.
 */
export interface ChannelOccupancyStore {
  apply(nodeId: string, counts: readonly ChannelSubscriptionCount[]): Promise<void>;
  /** Replaces every row of the node by `rows` (none: the node's rows are deleted). */
  replaceNode(nodeId: string, rows: readonly ChannelSubscriptionCount[]): Promise<void>;
}

/**
 * This node's subscriber count per channel, as the rest of the cluster sees it. Changes are
 * coalesced like the user connections (user-connections.ts): a channel whose count moved in an
 * interval costs one row write at the next flush, whatever the number of subscribes and
 * unsubscribes, and none when it ends where it started. Writes run one at a time (WriteSlot: a tick
 * that finds one in flight is not queued behind it); a failed one is retried with the next flush.
 */
export class ChannelOccupancy {
  private readonly counts = new Map<string, number>();
  /**
   * Channels whose count differs from the store's, each with the store's count (as the write in
   * flight, if any, leaves it). A channel whose count comes back to that is dropped, so the map holds
   * only channels with subscribers now or a row to delete, however many names (the clients' choice)
   * are subscribed to and left while a write is slow or failing.
   */
  private dirty = new Map<string, number>();
  /** Set while the node's rows may be gone or incomplete: the next flush rewrites them all. */
  private rewrite = true;
  private readonly writes = new WriteSlot();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: ChannelOccupancyStore,
    private readonly nodeId: string,
    private readonly flushMs: number,
    private readonly log: JsonLogger,
  ) {}

  /** Removes what an earlier process with this node id left, then flushes every `flushMs`. */
  async start(): Promise<void> {
    await this.flush();
    this.timer = setInterval(() => this.writes.tick(this.write), this.flushMs);
    this.timer.unref();
  }

  count(channel: string): number {
    return this.counts.get(channel) ?? 0;
  }

  add(channel: string, delta: number): void {
    const before = this.count(channel);
    const n = before + delta;
    if (n > 0) this.counts.set(channel, n);
    else this.counts.delete(channel);
    this.changed(channel, this.dirty.get(channel) ?? before);
  }

  /**
   * The node's rows may have been deleted (it missed heartbeats for a TTL and another node removed
   * it): they are written again whole at the next flush.
   */
  revived(): void {
    this.rewrite = true;
  }

  flush(): Promise<void> {
    return this.writes.run(this.write);
  }

  /** Clean shutdown: the node's rows go at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.writes.run(() => this.store.replaceNode(this.nodeId, []));
  }

  private readonly write = async (): Promise<void> => {
    if (this.rewrite) return this.replaceAll();
    if (this.dirty.size === 0) return;
    const batch = this.dirty;
    this.dirty = new Map();
    try {
      await this.store.apply(
        this.nodeId,
        [...batch.keys()].map((channel) => ({ channel, subscriptions: this.count(channel) })),
      );
    } catch (err) {
      // The store still holds the counts from before this write.
      for (const [channel, stored] of batch) this.changed(channel, stored);
      this.log.warn('channel occupancy write failed; will retry', { channels: batch.size, error: err });
    }
  };

  /** `channel`'s count may differ from `stored`, the store's: dirty if it does. */
  private changed(channel: string, stored: number): void {
    if (this.count(channel) === stored) this.dirty.delete(channel);
    else this.dirty.set(channel, stored);
  }

  private async replaceAll(): Promise<void> {
    // Cleared first: a revival announced while the rows are written asks for another rewrite.
    this.rewrite = false;
    this.dirty = new Map();
    const rows = [...this.counts].map(([channel, subscriptions]) => ({ channel, subscriptions }));
    try {
      await this.store.replaceNode(this.nodeId, rows);
    } catch (err) {
      this.rewrite = true;
      this.log.warn('channel occupancy rewrite failed; will retry', { channels: rows.length, error: err });
    }
  }
}
