import { sql } from 'kysely';
import type { Db } from './database';
import { ChannelsRepository, type ChannelHistoryWindow } from './channels.repository';
import { IDEMPOTENCY_WINDOW_HOURS } from './sequenced-append';

/** Any constant works; it only has to be the same in every process that runs retention. */
const RETENTION_LOCK_KEY = 0x6e6f7469; // "noti"
const BATCH = 5_000;

export interface RetentionResult {
  ran: boolean;
  expiredNotifications: number;
  idempotencyKeys: number;
  channelMessages: number;
}

/**
 * Deletes expired notifications, idempotency keys past their window and channel messages outside the
 * history window, in bounded batches. Guarded
 * by an advisory lock, so with several ingest instances one does the work and the others skip.
 */
export async function runRetention(
  db: Db,
  channelWindow: ChannelHistoryWindow,
  maxBatches = 20,
): Promise<RetentionResult> {
  return db.connection().execute(async (conn) => {
    const lock = await sql<{
      locked: boolean;
    }>`SELECT pg_try_advisory_lock(${RETENTION_LOCK_KEY}) AS locked`.execute(conn);
    if (!lock.rows[0]?.locked)
      return { ran: false, expiredNotifications: 0, idempotencyKeys: 0, channelMessages: 0 };
    try {
      const expiredNotifications = await deleteInBatches(maxBatches, async () => {
        const r = await sql`
          DELETE FROM notifications WHERE ctid IN (
            SELECT ctid FROM notifications WHERE expires_at IS NOT NULL AND expires_at <= now() LIMIT ${BATCH})`.execute(
          conn,
        );
        return Number(r.numAffectedRows ?? 0);
      });
      const idempotencyKeys = await deleteInBatches(maxBatches, async () => {
        const r = await sql`
          DELETE FROM idempotency_keys WHERE ctid IN (
            SELECT ctid FROM idempotency_keys
            WHERE created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS}) LIMIT ${BATCH})`.execute(
          conn,
        );
        return Number(r.numAffectedRows ?? 0);
      });
      const channelMessages = await new ChannelsRepository(db).trim(channelWindow);
      return { ran: true, expiredNotifications, idempotencyKeys, channelMessages };
    } finally {
      await sql`SELECT pg_advisory_unlock(${RETENTION_LOCK_KEY})`.execute(conn);
    }
  });
}

async function deleteInBatches(maxBatches: number, batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = await batch();
    total += n;
    if (n < BATCH) break;
  }
  return total;
}
