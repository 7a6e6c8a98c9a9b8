import { sql, type Kysely } from 'kysely';

/**
 * Lets retention find read notifications past their age without scanning the table (only read rows
 * are indexed, so unread ones cost nothing here).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX notifications_read_at ON notifications (read_at) WHERE read_at IS NOT NULL`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX notifications_read_at`.execute(db);
}
