import { sql, type Kysely } from 'kysely';

/**
 * Channel history. `trimmed_offset` is the highest offset retention has deleted: a subscriber
 * resuming after `since` is fully recovered exactly when since ≥ trimmed_offset.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE channel_streams (
      channel        text   PRIMARY KEY,
      last_offset    bigint NOT NULL,
      trimmed_offset bigint NOT NULL DEFAULT 0
    )`.execute(db);
  await sql`
    CREATE TABLE channel_messages (
      channel    text        NOT NULL,
      "offset"   bigint      NOT NULL,
      id         uuid        NOT NULL UNIQUE,
      data       jsonb       NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel, "offset")
    )`.execute(db);
  await sql`CREATE INDEX channel_messages_age ON channel_messages (created_at)`.execute(db);
  await sql`
    CREATE TABLE channel_idempotency_keys (
      key        text        NOT NULL,
      channel    text        NOT NULL,
      message_id uuid        NOT NULL,
      "offset"   bigint      NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (key, channel)
    )`.execute(db);
  await sql`CREATE INDEX channel_idempotency_keys_age ON channel_idempotency_keys (created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE channel_idempotency_keys, channel_messages, channel_streams`.execute(db);
}
