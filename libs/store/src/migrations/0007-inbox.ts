import { sql, type Kysely } from 'kysely';

/**
 * The inbox for backends: retraction (the row stays, without content, so its seq is still replayed),
 * silent notifications (muted or in quiet hours), the user's preferences beside their seq counter
 * (so the append's upsert returns them at no extra cost), and delivery receipts as seq ranges per
 * device and flush (one row per device and flush interval, not per notification).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE notifications
      ADD COLUMN retracted_at timestamptz,
      ADD COLUMN silent boolean NOT NULL DEFAULT false`.execute(db);
  // Unread counts and mark-read skip retracted rows: the partial index leaves them out, so both stay
  // a scan of the user's unread rows. `silent` is not in it: mark-read must find silent rows, and a
  // count reads the heap for the expiry anyway.
  await sql`DROP INDEX notifications_unread`.execute(db);
  await sql`
    CREATE INDEX notifications_unread ON notifications (user_id, seq)
    WHERE read_at IS NULL AND retracted_at IS NULL`.execute(db);
  await sql`
    ALTER TABLE user_streams
      ADD COLUMN preferences jsonb,
      ADD COLUMN preferences_version bigint NOT NULL DEFAULT 0`.execute(db);
  await sql`
    CREATE TABLE delivery_receipts (
      user_id        text        NOT NULL,
      device_id      text        NOT NULL,
      delivered_from bigint,
      delivered_to   bigint,
      delivered_at   timestamptz,
      acked_from     bigint,
      acked_to       bigint,
      acked_at       timestamptz,
      last_seq       bigint      NOT NULL,
      recorded_at    timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX delivery_receipts_lookup ON delivery_receipts (user_id, last_seq)`.execute(db);
  await sql`CREATE INDEX delivery_receipts_age ON delivery_receipts (recorded_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE delivery_receipts`.execute(db);
  await sql`ALTER TABLE user_streams DROP COLUMN preferences, DROP COLUMN preferences_version`.execute(db);
  await sql`DROP INDEX notifications_unread`.execute(db);
  await sql`CREATE INDEX notifications_unread ON notifications (user_id, seq) WHERE read_at IS NULL`.execute(
    db,
  );
  await sql`ALTER TABLE notifications DROP COLUMN retracted_at, DROP COLUMN silent`.execute(db);
}
