import { sql } from 'kysely';
import type { Db } from './database';

/** A seq range one device was written or acked during one flush interval, and when it started. */
export interface ReceiptRange {
  from: number;
  to: number;
  /** The first write (or ack) in the range: receipts are exact to one flush interval. */
  at: Date;
}

/** What one flush records for one (user, device): a delivered range, an acked range, or both. */
export interface ReceiptUpdate {
  userId: string;
  deviceId: string;
  delivered: ReceiptRange | null;
  acked: ReceiptRange | null;
}

export interface DeviceReceipt {
  deviceId: string;
  /** First written to the device's socket. */
  deliveredAt: Date | null;
  /** First acked by the device. */
  ackedAt: Date | null;
}

/**
 * Delivery receipts as seq ranges: one row per (user, device) per flush, whatever the number of
 * notifications in it, written in one insert per flush for every device (see ReceiptWriter in the
 * gateway). A notification's receipt per device is the earliest range that covers its seq.
 */
export class ReceiptsRepository {
  constructor(private readonly db: Db) {}

  async record(updates: readonly ReceiptUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const col = <T>(pick: (u: ReceiptUpdate) => T): T[] => updates.map(pick);
    await sql`
      INSERT INTO delivery_receipts (user_id, device_id, delivered_from, delivered_to, delivered_at,
        acked_from, acked_to, acked_at, last_seq)
      SELECT u, d, df, dt, da, af, at, aa, GREATEST(dt, at)
      FROM unnest(${col((u) => u.userId)}::text[], ${col((u) => u.deviceId)}::text[],
        ${col((u) => u.delivered?.from ?? null)}::bigint[], ${col((u) => u.delivered?.to ?? null)}::bigint[],
        ${col((u) => u.delivered?.at ?? null)}::timestamptz[],
        ${col((u) => u.acked?.from ?? null)}::bigint[], ${col((u) => u.acked?.to ?? null)}::bigint[],
        ${col((u) => u.acked?.at ?? null)}::timestamptz[]) AS r(u, d, df, dt, da, af, at, aa)`.execute(
      this.db,
    );
  }

  /** Per device that received or acked seq `seq` of `userId`: the earliest time of each. */
  async of(userId: string, seq: number): Promise<DeviceReceipt[]> {
    const { rows } = await sql<{ device_id: string; delivered_at: Date | null; acked_at: Date | null }>`
      SELECT device_id,
             min(delivered_at) FILTER (WHERE delivered_from <= ${seq} AND delivered_to >= ${seq}) AS delivered_at,
             min(acked_at) FILTER (WHERE acked_from <= ${seq} AND acked_to >= ${seq}) AS acked_at
      FROM delivery_receipts
      WHERE user_id = ${userId} AND last_seq >= ${seq}
      GROUP BY device_id
      HAVING bool_or(delivered_from <= ${seq} AND delivered_to >= ${seq})
          OR bool_or(acked_from <= ${seq} AND acked_to >= ${seq})
      ORDER BY device_id`.execute(this.db);
    return rows.map((r) => ({ deviceId: r.device_id, deliveredAt: r.delivered_at, ackedAt: r.acked_at }));
  }
}
