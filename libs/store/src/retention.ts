import { sql } from 'kysely';
import type { Db } from './database';
import { ChannelsRepository, type ChannelHistoryWindow } from './channels.repository';
import { IDEMPOTENCY_WINDOW_HOURS } from './sequenced-append';

/** Any constant works; it only has to be the same in every process that runs retention. */
const RETENTION_LOCK_KEY = 0x6e6f7469; // "noti"
const BATCH = 5_000;
/** How long delivery receipts are kept unless the policy says otherwise. */
export const DEFAULT_RECEIPT_DAYS = 30;

export interface RetentionPolicy {
  channelWindow: ChannelHistoryWindow;
  /** Read notifications whose `read_at` is older than this many days are deleted; 0 keeps them all. */
  readNotificationDays: number;
  /** Delivery receipts recorded longer ago than this many days are deleted (default 30). */
  receiptDays?: number;
}

export interface RetentionResult {
  ran: boolean;
  expiredNotifications: number;
  readNotifications: number;
  idempotencyKeys: number;
  channelMessages: number;
  receipts: number;
}

/**
 * Deletes expired notifications, read notifications past the policy's age (when it sets one),
 * idempotency keys past their window, channel messages outside the history window and delivery
 * receipts past their age, in bounded
 * batches. A device that resumes from before a deleted notification skips its seq, as it skips an
 * expired one (the store no longer returns it). Guarded
 * by an advisory lock, so with several ingest instances one does the work and the others skip.
 */
export async function runRetention(
  db: Db,
  policy: RetentionPolicy,
  maxBatches = 20,
): Promise<RetentionResult> {
  return db.connection().execute(async (conn) => {
    const lock = await sql<{
      locked: boolean;
    }>`SELECT pg_try_advisory_lock(${RETENTION_LOCK_KEY}) AS locked`.execute(conn);
    if (!lock.rows[0]?.locked)
      return {
        ran: false,
        expiredNotifications: 0,
        readNotifications: 0,
        idempotencyKeys: 0,
        channelMessages: 0,
        receipts: 0,
      };
    try {
      const expiredNotifications = await deleteInBatches(maxBatches, async () => {
        const r = await sql`
          DELETE FROM notifications WHERE ctid IN (
            SELECT ctid FROM notifications WHERE expires_at IS NOT NULL AND expires_at <= now() LIMIT ${BATCH})`.execute(
          conn,
        );
        return Number(r.numAffectedRows ?? 0);
      });
      const readNotifications =
        policy.readNotificationDays > 0
          ? await deleteInBatches(maxBatches, async () => {
              const r = await sql`
                DELETE FROM notifications WHERE ctid IN (
                  SELECT ctid FROM notifications
                  WHERE read_at IS NOT NULL
                    AND read_at < now() - make_interval(days => ${policy.readNotificationDays}) LIMIT ${BATCH})`.execute(
                conn,
              );
              return Number(r.numAffectedRows ?? 0);
            })
          : 0;
      const idempotencyKeys = await deleteInBatches(maxBatches, async () => {
        const r = await sql`
          DELETE FROM idempotency_keys WHERE ctid IN (
            SELECT ctid FROM idempotency_keys
            WHERE created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS}) LIMIT ${BATCH})`.execute(
          conn,
        );
        return Number(r.numAffectedRows ?? 0);
      });
      const channelMessages = await new ChannelsRepository(db).trim(policy.channelWindow);
      const receipts = await deleteInBatches(maxBatches, async () => {
        const r = await sql`
          DELETE FROM delivery_receipts WHERE ctid IN (
            SELECT ctid FROM delivery_receipts
            WHERE recorded_at < now() - make_interval(days => ${policy.receiptDays ?? DEFAULT_RECEIPT_DAYS})
            LIMIT ${BATCH})`.execute(conn);
        return Number(r.numAffectedRows ?? 0);
      });
      return {
        ran: true,
        expiredNotifications,
        readNotifications,
        idempotencyKeys,
        channelMessages,
        receipts,
      };
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
