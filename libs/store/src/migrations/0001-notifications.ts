import { sql, type Kysely } from 'kysely';

/** Inbox, per-user sequence, idempotency keys and device cursors. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE user_streams (
      user_id  text PRIMARY KEY,
      last_seq bigint NOT NULL
    )`.execute(db);
  await sql`
    CREATE TABLE notifications (
      user_id    text        NOT NULL,
      seq        bigint      NOT NULL,
      id         uuid        NOT NULL UNIQUE,
      topic      text        NOT NULL,
      title      text,
      body       text,
      data       jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz,
      read_at    timestamptz,
      PRIMARY KEY (user_id, seq)
    )`.execute(db);
  await sql`CREATE INDEX notifications_unread ON notifications (user_id, seq) WHERE read_at IS NULL`.execute(
    db,
  );
  await sql`CREATE INDEX notifications_expiry ON notifications (expires_at) WHERE expires_at IS NOT NULL`.execute(
    db,
  );
  await sql`
    CREATE TABLE idempotency_keys (
      key             text        NOT NULL,
      user_id         text        NOT NULL,
      notification_id uuid        NOT NULL,
      seq             bigint      NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (key, user_id)
    )`.execute(db);
  await sql`CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at)`.execute(db);
  await sql`
    CREATE TABLE device_cursors (
      user_id    text        NOT NULL,
      device_id  text        NOT NULL,
      acked_seq  bigint      NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, device_id)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE device_cursors, idempotency_keys, notifications, user_streams`.execute(db);
}
