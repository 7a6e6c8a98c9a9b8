import { sql } from 'kysely';
import type { Db } from './database';
import { fromRow, type NotificationRow, type StoredNotification } from './notification-records';

export type ReadSelector = { ids: readonly string[] } | { upTo: number };

export interface ReadChange {
  /** Ids that this call turned from unread to read (already-read ones are not repeated). */
  ids: string[];
  unread: number;
  /** Bumped by every change; a reader keeps only the newest. Unchanged when nothing changed. */
  version: number;
  /** The user's newest seq when `unread` was counted: notifications after it are not in the count. */
  asOfSeq: number;
}

export interface HistoryPage {
  items: StoredNotification[];
  nextBefore: number | null;
}

const UNEXPIRED = sql`(expires_at IS NULL OR expires_at > now())`;

/** Read state and inbox pages. */
export class InboxRepository {
  constructor(private readonly db: Db) {}

  /**
   * Marks notifications read. Changes of one user are serialised on their user_streams row, so the
   * unread count each returns is exact at its version.
   */
  markRead(userId: string, selector: ReadSelector): Promise<ReadChange> {
    return this.db.transaction().execute(async (trx) => {
      const stream = await sql<{ last_seq: number; read_version: number }>`
        SELECT last_seq, read_version FROM user_streams WHERE user_id = ${userId} FOR UPDATE`.execute(trx);
      const state = stream.rows[0];
      if (!state) return { ids: [], unread: 0, version: 0, asOfSeq: 0 };
      const match =
        'ids' in selector ? sql`id = ANY(${[...selector.ids]}::uuid[])` : sql`seq <= ${selector.upTo}`;
      const changed = await sql<{ id: string }>`
        UPDATE notifications SET read_at = now()
        WHERE user_id = ${userId} AND read_at IS NULL AND ${match}
        RETURNING id`.execute(trx);
      const version = changed.rows.length > 0 ? state.read_version + 1 : state.read_version;
      if (changed.rows.length > 0) {
        await sql`UPDATE user_streams SET read_version = ${version} WHERE user_id = ${userId}`.execute(trx);
      }
      const unread = await sql<{ n: number }>`
        SELECT count(*) AS n FROM notifications WHERE user_id = ${userId} AND read_at IS NULL AND ${UNEXPIRED}`.execute(
        trx,
      );
      return {
        ids: changed.rows.map((r) => r.id),
        unread: unread.rows[0].n,
        version,
        asOfSeq: state.last_seq,
      };
    });
  }

  /** Newest first, below `before` when given; `nextBefore` is set when older items may exist. */
  async history(
    userId: string,
    options: { before?: number; limit: number; unreadOnly?: boolean },
  ): Promise<HistoryPage> {
    const rows = await sql<NotificationRow>`
      SELECT * FROM notifications
      WHERE user_id = ${userId} AND ${UNEXPIRED}
        ${options.before !== undefined ? sql`AND seq < ${options.before}` : sql``}
        ${options.unreadOnly ? sql`AND read_at IS NULL` : sql``}
      ORDER BY seq DESC LIMIT ${options.limit}`.execute(this.db);
    const items = rows.rows.map(fromRow);
    const last = items[items.length - 1];
    return { items, nextBefore: items.length === options.limit && last && last.seq > 1 ? last.seq : null };
  }
}
