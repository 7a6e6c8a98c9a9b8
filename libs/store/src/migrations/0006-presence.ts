import { sql, type Kysely } from 'kysely';

/**
 * Presence (docs/architecture.md, "Presence"): who is a member of a presence channel via which node.
 * A node registers under a key of its own per process and registration (`node_key`: node id and a
 * random incarnation), so a node restarted with the same id never inherits, nor resurrects, the
 * members of its earlier life: those rows go with the earlier key. Rows are per node, not per
 * connection (a user's tabs on one node are one row with a count), and go with their node's row
 * (ON DELETE CASCADE) when any live node finds its heartbeat stale.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE presence_nodes (
      node_key     text        PRIMARY KEY,
      node_id      text        NOT NULL,
      heartbeat_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX presence_nodes_node ON presence_nodes (node_id)`.execute(db);
  await sql`
    CREATE TABLE presence_members (
      channel     text  NOT NULL,
      user_id     text  NOT NULL,
      node_key    text  NOT NULL REFERENCES presence_nodes (node_key) ON DELETE CASCADE,
      info        jsonb,
      connections int   NOT NULL,
      PRIMARY KEY (channel, user_id, node_key)
    )`.execute(db);
  await sql`CREATE INDEX presence_members_node ON presence_members (node_key)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE presence_members, presence_nodes`.execute(db);
}
