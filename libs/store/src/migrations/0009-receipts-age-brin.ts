import { sql, type Kysely } from 'kysely';

/**
 * Delivery receipts are appended in `recorded_at` order and only retention reads that column (deleting
 * what is older than a cutoff). A B-tree on it cost every receipt row one more index insertion on the
 * gateways' flush; a BRIN index keeps one summary per block range, is maintained almost for free on an
 * append-only table, and still lets retention skip the ranges newer than its cutoff.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX delivery_receipts_age`.execute(db);
  await sql`CREATE INDEX delivery_receipts_age ON delivery_receipts USING brin (recorded_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX delivery_receipts_age`.execute(db);
  await sql`CREATE INDEX delivery_receipts_age ON delivery_receipts (recorded_at)`.execute(db);
}
