import { sql, type Transaction } from 'kysely';
import type { Db } from './database';
import type { Database } from './schema';
import { countedUnread, topicMatches, unexpired, unreadCountOf } from './notification-filters';
import { fromRow, type NotificationRow, type StoredNotification } from './notification-records';

type Queryable = Db | Transaction<Database>;

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

export interface Retraction extends ReadChange {
  userId: string;
  seq: number;
  /** False when it was retracted before: nothing changed, nothing to broadcast. */
  changed: boolean;
}

export interface HistoryOptions {
  before?: number;
  limit: number;
  /** Only those counted in `unread` (unread, not silent). */
  unreadOnly?: boolean;
  /** `a.b` exactly, or `a.*` for every topic below `a`. */
  topic?: string;
}

export interface HistoryPage {
  items: StoredNotification[];
  nextBefore: number | null;
}

/** Read state, retraction and inbox pages. */
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
        WHERE user_id = ${userId} AND read_at IS NULL AND retracted_at IS NULL AND ${match}
        RETURNING id`.execute(trx);
      const version = changed.rows.length > 0 ? state.read_version + 1 : state.read_version;
      if (changed.rows.length > 0) {
        await sql`UPDATE user_streams SET read_version = ${version} WHERE user_id = ${userId}`.execute(trx);
      }
      return {
        ids: changed.rows.map((r) => r.id),
        unread: await this.unreadIn(trx, userId),
        version,
        asOfSeq: state.last_seq,
      };
    });
  }

  /**
   * Retracts a notification: its content is deleted and it leaves history and the unread count, but
   * the row keeps its seq, so replays carry `{seq, id, retracted: true}` and streams stay gapless.
   * Serialised with read changes on the user's row and numbered like them (a retraction changes the
   * unread count). Retracting again changes nothing (`changed: false`). With `userId`, a notification
   * of another user is not found. Null when not found (or expired).
   */
  retract(id: string, userId?: string): Promise<Retraction | null> {
    return this.db.transaction().execute(async (trx) => {
      const found = await this.findIn(trx, id, userId);
      if (!found) return null;
      const stream = await sql<{ last_seq: number; read_version: number }>`
        SELECT last_seq, read_version FROM user_streams WHERE user_id = ${found.userId} FOR UPDATE`.execute(
        trx,
      );
      const state = stream.rows[0];
      const updated = await sql`
        UPDATE notifications SET retracted_at = now(), title = NULL, body = NULL, data = NULL
        WHERE id = ${id} AND retracted_at IS NULL`.execute(trx);
      const changed = Number(updated.numAffectedRows ?? 0) > 0;
      const version = changed ? state.read_version + 1 : state.read_version;
      if (changed)
        await sql`UPDATE user_streams SET read_version = ${version} WHERE user_id = ${found.userId}`.execute(
          trx,
        );
      return {
        userId: found.userId,
        seq: found.seq,
        ids: changed ? [id] : [],
        changed,
        unread: await this.unreadIn(trx, found.userId),
        version,
        asOfSeq: state.last_seq,
      };
    });
  }

  /** One notification by id, retracted ones included, expired ones not; with `userId`, only theirs. */
  find(id: string, userId?: string): Promise<StoredNotification | null> {
    return this.findIn(this.db, id, userId);
  }

  /** Of `ids`, those that are `userId`'s (unexpired); a backend asking for others' ids learns nothing. */
  async ownedIds(userId: string, ids: readonly string[]): Promise<Set<string>> {
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM notifications
      WHERE user_id = ${userId} AND id = ANY(${[...ids]}::uuid[]) AND ${unexpired()}`.execute(this.db);
    return new Set(rows.map((r) => r.id));
  }

  unreadCount(userId: string): Promise<number> {
    return this.unreadIn(this.db, userId);
  }

  /**
   * Newest first, below `before` when given; `nextBefore` is set when older items may exist. Expired
   * and retracted notifications are never listed.
   */
  async history(userId: string, options: HistoryOptions): Promise<HistoryPage> {
    const rows = await sql<NotificationRow>`
      SELECT * FROM notifications
      WHERE user_id = ${userId} AND ${unexpired()} AND retracted_at IS NULL
        ${options.before !== undefined ? sql`AND seq < ${options.before}` : sql``}
        ${options.unreadOnly ? sql`AND ${countedUnread()}` : sql``}
        ${options.topic !== undefined ? sql`AND ${topicMatches(options.topic)}` : sql``}
      ORDER BY seq DESC LIMIT ${options.limit}`.execute(this.db);
    const items = rows.rows.map(fromRow);
    const last = items[items.length - 1];
    return { items, nextBefore: items.length === options.limit && last && last.seq > 1 ? last.seq : null };
  }

  private async unreadIn(db: Queryable, userId: string): Promise<number> {
    const { rows } = await sql<{ n: number }>`SELECT ${unreadCountOf(userId)} AS n`.execute(db);
    return rows[0].n;
  }

  private async findIn(
    db: Queryable,
    id: string,
    userId: string | undefined,
  ): Promise<StoredNotification | null> {
    const { rows } = await sql<NotificationRow>`
      SELECT * FROM notifications
      WHERE id = ${id} AND ${unexpired()} ${userId !== undefined ? sql`AND user_id = ${userId}` : sql``}`.execute(
      db,
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }
}
