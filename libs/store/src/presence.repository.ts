import { sql } from 'kysely';
import { likePrefix } from './channel-occupancy.repository';
import type { Db } from './database';

export type PresenceInfo = Readonly<Record<string, unknown>>;

/** One node's membership of a user in a presence channel: its connections there, and the user's info. */
export interface PresenceRow {
  channel: string;
  userId: string;
  info?: PresenceInfo;
  connections: number;
}

/** A member as another node holds it: read when a node starts holding a channel. */
export interface PresenceSnapshotRow {
  userId: string;
  nodeKey: string;
  info?: PresenceInfo;
}

/** A channel's member as the backend API answers it: counted over every live node. */
export interface PresenceMemberSummary {
  userId: string;
  info?: PresenceInfo;
  connections: number;
}

export interface UserPresence {
  online: boolean;
  connections: number;
  devices: string[];
}

/**
 * How a gateway's presence heartbeat and the liveness check are timed from NOTIFY_PRESENCE_TTL_S.
 * A node dead at t beat last after t − beat; it is stale at most `stale` later and found by the
 * next check (every `beat`): gone everywhere by t + stale + beat = 0.8 TTL, plus a query. A live
 * node may miss two beats before it is declared dead.
 */
export function presenceTimings(ttlMs: number): { beatMs: number; staleMs: number } {
  return { beatMs: Math.max(50, Math.floor(ttlMs / 5)), staleMs: Math.floor((ttlMs * 3) / 5) };
}

const interval = (ms: number) => sql`make_interval(secs => ${ms / 1000}::float8)`;
const infoOf = (info: unknown): PresenceInfo | undefined =>
  info === null || info === undefined ? undefined : (info as PresenceInfo);

/**
 * Presence state (`presence_nodes`, `presence_members`). A node's rows count while its heartbeat is
 * younger than the staleness bound; times are the database's, so the nodes' clocks do not matter.
 */
export class PresenceRepository {
  constructor(private readonly db: Db) {}

  /**
   * The node (re)registers under a new key with exactly `rows`: every earlier key of this node id
   * (an earlier process, or this one before a broker outage) is deleted with its rows, in the same
   * transaction, so other nodes see the old key go and the new one come, never a mix.
   */
  async register(nodeId: string, nodeKey: string, rows: readonly PresenceRow[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await sql`DELETE FROM presence_nodes WHERE node_id = ${nodeId}`.execute(trx);
      await sql`INSERT INTO presence_nodes (node_key, node_id) VALUES (${nodeKey}, ${nodeId})`.execute(trx);
      await this.write(trx, nodeKey, rows, []);
    });
  }

  /** Beats the key's heartbeat; false when the key is gone (another node found it stale). */
  async beat(nodeKey: string): Promise<boolean> {
    const { rows } = await sql`
      UPDATE presence_nodes SET heartbeat_at = now() WHERE node_key = ${nodeKey} RETURNING 1`.execute(
      this.db,
    );
    return rows.length > 0;
  }

  /** Deletes the keys whose heartbeat is older than `staleMs` (their rows go with them); returns the live keys. */
  async reap(staleMs: number): Promise<string[]> {
    const { rows } = await sql<{ node_key: string }>`
      WITH gone AS (DELETE FROM presence_nodes WHERE heartbeat_at <= now() - ${interval(staleMs)})
      SELECT node_key FROM presence_nodes WHERE heartbeat_at > now() - ${interval(staleMs)}`.execute(this.db);
    return rows.map((r) => r.node_key);
  }

  /** Writes changed memberships and deletes ended ones, in one statement; nothing once the key is gone. */
  async apply(
    nodeKey: string,
    upserts: readonly PresenceRow[],
    deletes: readonly { channel: string; userId: string }[],
  ): Promise<void> {
    if (upserts.length === 0 && deletes.length === 0) return;
    await this.write(this.db, nodeKey, upserts, deletes);
  }

  /** A channel's members on the live nodes other than `nodeId`. */
  async snapshot(channel: string, exceptNodeId: string, staleMs: number): Promise<PresenceSnapshotRow[]> {
    const { rows } = await sql<{ user_id: string; node_key: string; info: unknown }>`
      SELECT m.user_id, m.node_key, m.info FROM presence_members m JOIN presence_nodes n USING (node_key)
      WHERE m.channel = ${channel} AND n.node_id <> ${exceptNodeId}
        AND n.heartbeat_at > now() - ${interval(staleMs)}`.execute(this.db);
    return rows.map((r) => ({ userId: r.user_id, nodeKey: r.node_key, info: infoOf(r.info) }));
  }

  /** Clean shutdown: the node's keys and rows are deleted at once. */
  async leave(nodeId: string): Promise<void> {
    await sql`DELETE FROM presence_nodes WHERE node_id = ${nodeId}`.execute(this.db);
  }

  /** Members of a channel on the live nodes, with their connections summed (backend API). */
  async channelMembers(channel: string, staleMs: number, limit: number): Promise<PresenceMemberSummary[]> {
    const { rows } = await sql<{ user_id: string; info: unknown; connections: number }>`
      SELECT m.user_id, (array_agg(m.info ORDER BY m.node_key))[1] AS info,
             sum(m.connections)::int AS connections
      FROM presence_members m JOIN presence_nodes n USING (node_key)
      WHERE m.channel = ${channel} AND n.heartbeat_at > now() - ${interval(staleMs)}
      GROUP BY m.user_id ORDER BY m.user_id LIMIT ${limit}`.execute(this.db);
    return rows.map((r) => {
      const info = infoOf(r.info);
      return info === undefined
        ? { userId: r.user_id, connections: r.connections }
        : { userId: r.user_id, info, connections: r.connections };
    });
  }

  /**
   * Every (channel, user) membership on the live nodes of the channels starting with `prefix`, one
   * row per pair whatever the number of nodes, by channel then user; at most `limit`.
   */
  async membersByPrefix(
    prefix: string,
    staleMs: number,
    limit: number,
  ): Promise<{ channel: string; userId: string }[]> {
    const { rows } = await sql<{ channel: string; user_id: string }>`
      SELECT DISTINCT m.channel, m.user_id
      FROM presence_members m JOIN presence_nodes n USING (node_key)
      WHERE m.channel COLLATE "C" LIKE ${likePrefix(prefix)} AND n.heartbeat_at > now() - ${interval(staleMs)}
      ORDER BY m.channel, m.user_id LIMIT ${limit}`.execute(this.db);
    return rows.map((r) => ({ channel: r.channel, userId: r.user_id }));
  }

  /** A user's connections on the live gateway nodes (`user_connections`), whatever they subscribed to. */
  async userPresence(userId: string, nodeTtlMs: number): Promise<UserPresence> {
    const { rows } = await sql<{ device_id: string; n: number }>`
      SELECT uc.device_id, count(*)::int AS n
      FROM user_connections uc JOIN gateway_nodes g ON g.node_id = uc.node_id
      WHERE uc.user_id = ${userId} AND g.heartbeat_at > now() - ${interval(nodeTtlMs)}
      GROUP BY uc.device_id ORDER BY uc.device_id`.execute(this.db);
    const connections = rows.reduce((sum, r) => sum + r.n, 0);
    return { online: connections > 0, connections, devices: rows.map((r) => r.device_id) };
  }

  private async write(
    db: Db,
    nodeKey: string,
    upserts: readonly PresenceRow[],
    deletes: readonly { channel: string; userId: string }[],
  ): Promise<void> {
    await sql`
      WITH gone AS (
        DELETE FROM presence_members m
        USING unnest(${deletes.map((d) => d.channel)}::text[], ${deletes.map((d) => d.userId)}::text[])
              AS d(channel, user_id)
        WHERE m.node_key = ${nodeKey} AND m.channel = d.channel AND m.user_id = d.user_id
      )
      INSERT INTO presence_members (channel, user_id, node_key, info, connections)
      SELECT r.channel, r.user_id, ${nodeKey}, r.info::jsonb, r.connections
      FROM unnest(${upserts.map((r) => r.channel)}::text[], ${upserts.map((r) => r.userId)}::text[],
                  ${upserts.map((r) => (r.info === undefined ? null : JSON.stringify(r.info)))}::text[],
                  ${upserts.map((r) => r.connections)}::int[]) AS r(channel, user_id, info, connections)
      WHERE EXISTS (SELECT 1 FROM presence_nodes WHERE node_key = ${nodeKey})
      ON CONFLICT (channel, user_id, node_key)
      DO UPDATE SET connections = EXCLUDED.connections, info = EXCLUDED.info`.execute(db);
  }
}
