import type { JsonLogger } from '@notify/logging';

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
 * unsubscribes, and none when it ends where it started. Writes run one at a time, in order; a
 * failed one is retried with the next flush.
 */
export class ChannelOccupancy {
  private readonly counts = new Map<string, number>();
  /** Channels whose count changed since the last write that succeeded. */
  private dirty = new Set<string>();
  /** Set while the node's rows may be gone or incomplete: the next flush rewrites them all. */
  private rewrite = true;
  private writing: Promise<void> = Promise.resolve();
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
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  count(channel: string): number {
    return this.counts.get(channel) ?? 0;
  }

  add(channel: string, delta: number): void {
    const n = (this.counts.get(channel) ?? 0) + delta;
    if (n > 0) this.counts.set(channel, n);
    else this.counts.delete(channel);
    this.dirty.add(channel);
  }

  /**
   * The node's rows may have been deleted (it missed heartbeats for a TTL and another node removed
   * it): they are written again whole at the next flush.
   */
  revived(): void {
    this.rewrite = true;
  }

  flush(): Promise<void> {
    return this.serially(async () => {
      if (this.rewrite) return this.replaceAll();
      if (this.dirty.size === 0) return;
      const dirty = this.dirty;
      this.dirty = new Set();
      try {
        await this.store.apply(
          this.nodeId,
          [...dirty].map((channel) => ({ channel, subscriptions: this.count(channel) })),
        );
      } catch (err) {
        for (const channel of dirty) this.dirty.add(channel);
        this.log.warn('channel occupancy write failed; will retry', { channels: dirty.size, error: err });
      }
    });
  }

  /** Clean shutdown: the node's rows go at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.serially(() => this.store.replaceNode(this.nodeId, []));
  }

  private async replaceAll(): Promise<void> {
    this.dirty = new Set();
    const rows = [...this.counts].map(([channel, subscriptions]) => ({ channel, subscriptions }));
    try {
      await this.store.replaceNode(this.nodeId, rows);
      this.rewrite = false;
    } catch (err) {
      this.log.warn('channel occupancy rewrite failed; will retry', { channels: rows.length, error: err });
    }
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const next = this.writing.then(work);
    this.writing = next.catch(() => undefined);
    return next;
  }
}
