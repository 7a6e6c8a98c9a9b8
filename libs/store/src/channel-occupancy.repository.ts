import { sql } from 'kysely';
import type { Db } from './database';
import { ttlInterval } from './user-connections.repository';

/** Subscribers of one channel: on one node (what a gateway reports), or summed over the live nodes. */
export interface ChannelSubscriptions {
  channel: string;
  subscriptions: number;
}

/** `LIKE` pattern matching every string that starts with `prefix`. */
export const likePrefix = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * How many sockets of each gateway node are subscribed to each (Pusher) channel, in
 * `channel_occupancy`. Gateways write their counts; ingest reads the sums. A node's rows count only
 * while its heartbeat (`gateway_nodes`, see UserConnectionsRepository) is younger than the TTL, and go
 * with that row when the node is declared dead.
 */
export class ChannelOccupancyRepository {
  constructor(private readonly db: Db) {}

  /**
   * Sets this node's count of each channel given (0 deletes the row). Written only while the node's
   * row exists: a node that was declared dead writes its whole set again (`replaceNode`) after its
   * next heartbeat instead of leaving rows no heartbeat covers.
   */
  async apply(nodeId: string, counts: readonly ChannelSubscriptions[]): Promise<void> {
    if (counts.length === 0) return;
    await this.write(this.db, nodeId, counts);
  }

  /** This node's rows become exactly `rows` (at start: none, which removes an earlier process's). */
  async replaceNode(nodeId: string, rows: readonly ChannelSubscriptions[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await sql`DELETE FROM channel_occupancy WHERE node_id = ${nodeId}`.execute(trx);
      await this.write(trx, nodeId, rows);
    });
  }

  /**
   * Channels starting with `prefix` that have subscribers on a live node, with the sums, by name; at
   * most `limit` (unset: all).
   */
  async occupied(prefix: string, nodeTtlMs: number, limit?: number): Promise<ChannelSubscriptions[]> {
    const { rows } = await sql<ChannelSubscriptions>`
      SELECT o.channel, sum(o.subscriptions)::int AS subscriptions
      FROM channel_occupancy o JOIN gateway_nodes g ON g.node_id = o.node_id
      WHERE o.channel COLLATE "C" LIKE ${likePrefix(prefix)}
        AND g.heartbeat_at > now() - ${ttlInterval(nodeTtlMs)}
      GROUP BY o.channel ORDER BY o.channel COLLATE "C" LIMIT ${limit ?? null}`.execute(this.db);
    return rows;
  }

  /** Subscribers of one channel on the live nodes (0: not occupied). */
  async subscriptions(channel: string, nodeTtlMs: number): Promise<number> {
    const { rows } = await sql<{ subscriptions: number }>`
      SELECT coalesce(sum(o.subscriptions), 0)::int AS subscriptions
      FROM channel_occupancy o JOIN gateway_nodes g ON g.node_id = o.node_id
      WHERE o.channel = ${channel} AND g.heartbeat_at > now() - ${ttlInterval(nodeTtlMs)}`.execute(this.db);
    return rows[0]?.subscriptions ?? 0;
  }

  private async write(db: Db, nodeId: string, counts: readonly ChannelSubscriptions[]): Promise<void> {
    // The last count of a channel wins: one statement may not touch the same row twice.
    const latest = new Map<string, number>();
    for (const { channel, subscriptions } of counts) {
      if (!Number.isInteger(subscriptions) || subscriptions < 0)
        throw new RangeError(`subscriptions of ${channel} must be an integer ≥ 0, got ${subscriptions}`);
      latest.set(channel, subscriptions);
    }
    await sql`
      WITH input AS (
        SELECT * FROM unnest(${[...latest.keys()]}::text[], ${[...latest.values()]}::int[])
          AS c(channel, subscriptions)
      ), emptied AS (
        DELETE FROM channel_occupancy o USING input i
        WHERE o.node_id = ${nodeId} AND o.channel = i.channel AND i.subscriptions = 0
      )
      INSERT INTO channel_occupancy (node_id, channel, subscriptions)
      SELECT ${nodeId}, i.channel, i.subscriptions FROM input i
      WHERE i.subscriptions > 0 AND EXISTS (SELECT 1 FROM gateway_nodes WHERE node_id = ${nodeId})
      ON CONFLICT (node_id, channel) DO UPDATE SET subscriptions = excluded.subscriptions`.execute(db);
  }
}
