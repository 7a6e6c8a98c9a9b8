import { sql, type Kysely } from 'kysely';

/**
 * Subscribers of Pusher channels per gateway node, reported by the gateways, so that ingest can
 * answer the Pusher HTTP API's `GET channels` and `subscription_count` for the whole cluster. Like
 * user_connections, a node's rows go with its `gateway_nodes` row (a dead node's heartbeat expires
 * and any live node deletes it). Only channels with at least one subscriber have a row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE channel_occupancy (
      node_id       text NOT NULL REFERENCES gateway_nodes (node_id) ON DELETE CASCADE,
      channel       text NOT NULL,
      subscriptions int  NOT NULL CHECK (subscriptions > 0),
      PRIMARY KEY (node_id, channel)
    )`.execute(db);
  // `GET channels?filter_by_prefix=` reads every row under one prefix: a range scan with the C collation.
  await sql`CREATE INDEX channel_occupancy_channel ON channel_occupancy (channel COLLATE "C")`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE channel_occupancy`.execute(db);
}
