import { sql } from 'kysely';
import type { Db } from './database';

export interface CursorUpdate {
  userId: string;
  deviceId: string;
  ackedSeq: number;
}

/** Device cursors: per (user, device), the highest seq the device acked. */
export class CursorsRepository {
  constructor(private readonly db: Db) {}

  /** Writes many cursors in one statement. A cursor only moves forward, whatever order writes land in. */
  async advance(updates: readonly CursorUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    await sql`
      INSERT INTO device_cursors (user_id, device_id, acked_seq)
      SELECT * FROM unnest(${updates.map((u) => u.userId)}::text[], ${updates.map((u) => u.deviceId)}::text[],
        ${updates.map((u) => u.ackedSeq)}::bigint[])
      ON CONFLICT (user_id, device_id) DO UPDATE
        SET acked_seq = GREATEST(device_cursors.acked_seq, EXCLUDED.acked_seq), updated_at = now()`.execute(
      this.db,
    );
  }
}
