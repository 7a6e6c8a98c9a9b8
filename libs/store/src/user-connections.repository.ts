import { sql } from 'kysely';
import type { Db } from './database';

/** One connection of a user on a gateway node. */
export interface UserConnectionRow {
  connectionId: string;
  userId: string;
  deviceId: string;
}

/** `ttl` as an SQL interval from milliseconds (how long a node's heartbeat keeps it alive). */
export const ttlInterval = (ttlMs: number) => sql`make_interval(secs => ${ttlMs / 1000}::float8)`;

/**
 * Connections of users on gateway nodes (`user_connections`) and the nodes' heartbeats
 * (`gateway_nodes`). A node's rows count only while its heartbeat is younger than the TTL; times are
 * the database's, so clocks of the nodes do not matter.
 */
export class UserConnectionsRepository {
  constructor(private readonly db: Db) {}

  /**
   * Beats this node's heartbeat and deletes the nodes whose heartbeat is older than the TTL (their
   * connections go with them). Returns whether this node was alive before the beat: if not (a new
   * process, or one that missed its heartbeats), its rows may have been deleted by another node, and
   * it writes them again (`replaceNode`).
   */
  async heartbeat(nodeId: string, ttlMs: number): Promise<{ wasAlive: boolean }> {
    const { rows } = await sql<{ was_alive: boolean }>`
      WITH prev AS (
        SELECT heartbeat_at > now() - ${ttlInterval(ttlMs)} AS alive FROM gateway_nodes WHERE node_id = ${nodeId}
      ), beat AS (
        INSERT INTO gateway_nodes (node_id, heartbeat_at) VALUES (${nodeId}, now())
        ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now()
      ), stale AS (
        DELETE FROM gateway_nodes
        WHERE heartbeat_at <= now() - ${ttlInterval(ttlMs)} AND node_id <> ${nodeId}
      )
      SELECT coalesce((SELECT alive FROM prev), false) AS was_alive`.execute(this.db);
    return { wasAlive: rows[0]?.was_alive ?? false };
  }

  /**
   * Records connections that opened and forgets those that closed, in one statement. Opened rows are
   * written only while the node's row exists: a node that was declared dead writes its whole set
   * again at its next heartbeat instead of leaving rows no heartbeat covers.
   */
  async apply(
    nodeId: string,
    opened: readonly UserConnectionRow[],
    closedIds: readonly string[],
  ): Promise<void> {
    if (opened.length === 0 && closedIds.length === 0) return;
    await this.write(this.db, nodeId, opened, closedIds);
  }

  /** This node's rows become exactly `rows` (at start: none, which removes an earlier process's). */
  async replaceNode(nodeId: string, rows: readonly UserConnectionRow[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await sql`DELETE FROM user_connections WHERE node_id = ${nodeId}`.execute(trx);
      await this.write(trx, nodeId, rows, []);
    });
  }

  /** The node leaves the cluster (clean shutdown): its row and its connections are deleted. */
  async leave(nodeId: string): Promise<void> {
    await sql`DELETE FROM gateway_nodes WHERE node_id = ${nodeId}`.execute(this.db);
  }

  private async write(
    db: Db,
    nodeId: string,
    opened: readonly UserConnectionRow[],
    closedIds: readonly string[],
  ): Promise<void> {
    await sql`
      WITH gone AS (
        DELETE FROM user_connections WHERE connection_id = ANY(${closedIds}::uuid[])
      )
      INSERT INTO user_connections (connection_id, user_id, device_id, node_id)
      SELECT c.id, c.user_id, c.device_id, ${nodeId}
      FROM unnest(${opened.map((c) => c.connectionId)}::uuid[], ${opened.map((c) => c.userId)}::text[],
                  ${opened.map((c) => c.deviceId)}::text[]) AS c(id, user_id, device_id)
      WHERE EXISTS (SELECT 1 FROM gateway_nodes WHERE node_id = ${nodeId})
      ON CONFLICT (connection_id) DO NOTHING`.execute(db);
  }
}

/** The SQL that counts a user's connections on the other live nodes (used by the session-state read). */
export function connectionsElsewhereSql(
  userIdColumn: ReturnType<typeof sql.ref>,
  nodeId: string,
  ttlMs: number,
) {
  return sql<number>`(
    SELECT count(*) FROM user_connections uc JOIN gateway_nodes g ON g.node_id = uc.node_id
    WHERE uc.user_id = ${userIdColumn} AND uc.node_id <> ${nodeId}
      AND g.heartbeat_at > now() - ${ttlInterval(ttlMs)})::int`;
}
