import { sql, type Kysely } from 'kysely';

/**
 * A per-user counter bumped by every read-state change, so gateways can drop a `read` broadcast
 * that arrives after a newer one (they travel through different publishers).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE user_streams ADD COLUMN read_version bigint NOT NULL DEFAULT 0`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE user_streams DROP COLUMN read_version`.execute(db);
}
