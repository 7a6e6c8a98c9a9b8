import { sql, type Kysely } from 'kysely';

/**
 * Connections of users on gateway nodes, so that limits (and later presence) hold across the cluster.
 * Each node heartbeats its `gateway_nodes` row; a node whose heartbeat is older than the TTL is dead,
 * its row is deleted by any live node, and its connections go with it (ON DELETE CASCADE).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE gateway_nodes (
      node_id      text        PRIMARY KEY,
      heartbeat_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE user_connections (
      connection_id uuid        PRIMARY KEY,
      user_id       text        NOT NULL,
      device_id     text        NOT NULL,
      node_id       text        NOT NULL REFERENCES gateway_nodes (node_id) ON DELETE CASCADE,
      opened_at     timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX user_connections_user ON user_connections (user_id)`.execute(db);
  await sql`CREATE INDEX user_connections_node ON user_connections (node_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE user_connections, gateway_nodes`.execute(db);
}
