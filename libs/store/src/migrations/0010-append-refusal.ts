import { sql, type Kysely } from 'kysely';

/**
 * Lets the append statement refuse its own result with an error of a chosen SQLSTATE, so that the
 * statement and everything it wrote roll back as one: `23505` when an idempotency key of the batch
 * was stored already, `NT001` when a batch written without an explicit transaction needs one (see
 * libs/store/src/sequenced-append.ts). Plain SQL cannot raise an error; a CASE calling this can.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION notify_refuse_append(code text, message text) RETURNS int
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
      RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
    END
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION notify_refuse_append(text, text)`.execute(db);
}
