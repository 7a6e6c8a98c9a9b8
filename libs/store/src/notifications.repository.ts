import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Db } from './database';
import type { Database } from './schema';
import {
  fromRow,
  type AppendResult,
  type NewNotification,
  type NotificationRow,
  type StoredNotification,
} from './notification-records';
import { withRetryableTransaction } from './transactions';

/** How long a producer's idempotency key is remembered (DESIGN §2.5). */
export const IDEMPOTENCY_WINDOW_HOURS = 24;

const keyOf = (key: string, userId: string): string => `${key}\u0000${userId}`;

/** All SQL for the user inbox. */
export class NotificationsRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores a batch atomically and returns one result per input, in input order.
   * Seqs come from one upsert per user on user_streams: its row lock serialises concurrent writers of
   * the same user, and since the increment commits or rolls back with the rows it numbers, seqs have
   * no gaps, and seq N committed implies every seq below N is committed (gateways rely on this).
   */
  append(items: readonly NewNotification[]): Promise<AppendResult[]> {
    if (items.length === 0) return Promise.resolve([]);
    return withRetryableTransaction(this.db, (trx) => this.appendIn(trx, items));
  }

  private async appendIn(
    trx: Transaction<Database>,
    items: readonly NewNotification[],
  ): Promise<AppendResult[]> {
    const results: (AppendResult | undefined)[] = new Array(items.length);
    const existing = await this.findByIdempotencyKeys(trx, items);
    const firstIndexOfKey = new Map<string, number>();
    const fresh: number[] = [];
    items.forEach((item, i) => {
      if (item.idempotencyKey === undefined) return void fresh.push(i);
      const k = keyOf(item.idempotencyKey, item.userId);
      const found = existing.get(k);
      if (found) results[i] = { ...found, duplicate: true };
      else if (firstIndexOfKey.has(k))
        return; // resolved below, after the first one is numbered
      else {
        firstIndexOfKey.set(k, i);
        fresh.push(i);
      }
    });

    if (fresh.length > 0) await this.insertFresh(trx, items, fresh, results);

    // Repeats of a key inside this same batch resolve to the first occurrence.
    items.forEach((item, i) => {
      if (results[i] || item.idempotencyKey === undefined) return;
      const first = results[
        firstIndexOfKey.get(keyOf(item.idempotencyKey, item.userId)) as number
      ] as AppendResult;
      results[i] = { ...first, duplicate: true };
    });
    return results as AppendResult[];
  }

  private async insertFresh(
    trx: Transaction<Database>,
    items: readonly NewNotification[],
    fresh: readonly number[],
    results: (AppendResult | undefined)[],
  ): Promise<void> {
    const perUser = new Map<string, number>();
    for (const i of fresh) perUser.set(items[i].userId, (perUser.get(items[i].userId) ?? 0) + 1);
    // Sorted, so concurrent batches lock user rows in one order and cannot deadlock each other.
    const users = [...perUser.keys()].sort();
    const counts = users.map((u) => perUser.get(u) as number);
    const allocated = await sql<{ user_id: string; last_seq: number }>`
      INSERT INTO user_streams (user_id, last_seq)
      SELECT u, c FROM unnest(${users}::text[], ${counts}::bigint[]) AS t(u, c) ORDER BY u
      ON CONFLICT (user_id) DO UPDATE SET last_seq = user_streams.last_seq + EXCLUDED.last_seq
      RETURNING user_id, last_seq`.execute(trx);
    const nextSeq = new Map<string, number>();
    for (const row of allocated.rows)
      nextSeq.set(row.user_id, row.last_seq - (perUser.get(row.user_id) as number) + 1);

    const createdAt = new Date();
    const rows: StoredNotification[] = fresh.map((i) => {
      const item = items[i];
      const seq = nextSeq.get(item.userId) as number;
      nextSeq.set(item.userId, seq + 1);
      const stored: StoredNotification = {
        userId: item.userId,
        seq,
        id: randomUUID(),
        topic: item.topic,
        title: item.title ?? null,
        body: item.body ?? null,
        data: item.data ?? null,
        createdAt,
        expiresAt: item.expiresAt ?? null,
        readAt: null,
      };
      results[i] = { userId: stored.userId, id: stored.id, seq, duplicate: false, notification: stored };
      return stored;
    });

    await sql`
      INSERT INTO notifications (user_id, seq, id, topic, title, body, data, created_at, expires_at)
      SELECT * FROM unnest(
        ${rows.map((r) => r.userId)}::text[], ${rows.map((r) => r.seq)}::bigint[], ${rows.map((r) => r.id)}::uuid[],
        ${rows.map((r) => r.topic)}::text[], ${rows.map((r) => r.title)}::text[], ${rows.map((r) => r.body)}::text[],
        ${rows.map((r) => (r.data === null ? null : JSON.stringify(r.data)))}::jsonb[],
        ${rows.map((r) => r.createdAt)}::timestamptz[], ${rows.map((r) => r.expiresAt)}::timestamptz[])`.execute(
      trx,
    );

    const keyed = fresh.filter((i) => items[i].idempotencyKey !== undefined);
    if (keyed.length > 0) {
      // A concurrent writer of the same key makes this fail with a unique violation; the transaction
      // is then retried and finds that writer's committed result.
      await sql`
        INSERT INTO idempotency_keys (key, user_id, notification_id, seq)
        SELECT * FROM unnest(${keyed.map((i) => items[i].idempotencyKey as string)}::text[],
          ${keyed.map((i) => items[i].userId)}::text[], ${keyed.map((i) => (results[i] as AppendResult).id)}::uuid[],
          ${keyed.map((i) => (results[i] as AppendResult).seq)}::bigint[])`.execute(trx);
    }
  }

  private async findByIdempotencyKeys(
    trx: Transaction<Database>,
    items: readonly NewNotification[],
  ): Promise<Map<string, Omit<AppendResult, 'duplicate'>>> {
    const found = new Map<string, Omit<AppendResult, 'duplicate'>>();
    const keyed = items.filter((item) => item.idempotencyKey !== undefined);
    if (keyed.length === 0) return found;
    const keys = keyed.map((item) => item.idempotencyKey as string);
    const users = keyed.map((item) => item.userId);
    // A key past its window is forgotten, so the producer may reuse it.
    await sql`
      DELETE FROM idempotency_keys
      WHERE (key, user_id) IN (SELECT * FROM unnest(${keys}::text[], ${users}::text[]))
        AND created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`.execute(trx);
    const rows = await sql<
      NotificationRow & { key: string; key_user: string; key_id: string; key_seq: number }
    >`
      SELECT k.key, k.user_id AS key_user, k.notification_id AS key_id, k.seq AS key_seq, n.*
      FROM idempotency_keys k LEFT JOIN notifications n ON n.id = k.notification_id
      WHERE (k.key, k.user_id) IN (SELECT * FROM unnest(${keys}::text[], ${users}::text[]))`.execute(trx);
    for (const row of rows.rows) {
      found.set(keyOf(row.key, row.key_user), {
        userId: row.key_user,
        id: row.key_id,
        seq: row.key_seq,
        notification: row.id ? fromRow(row) : null,
      });
    }
    return found;
  }

  /**
   * What a socket needs at open, in one round trip: the user's newest seq, unread count and
   * read-state version, and the device's cursor (null when the device never acked).
   */
  async sessionState(
    userId: string,
    deviceId: string,
  ): Promise<{ lastSeq: number; unread: number; readVersion: number; cursor: number | null }> {
    const row = await sql<{
      last_seq: number | null;
      read_version: number | null;
      unread: number;
      cursor: number | null;
    }>`
      SELECT s.last_seq, s.read_version,
             (SELECT count(*) FROM notifications
              WHERE user_id = ${userId} AND read_at IS NULL AND (expires_at IS NULL OR expires_at > now())) AS unread,
             (SELECT acked_seq FROM device_cursors WHERE user_id = ${userId} AND device_id = ${deviceId}) AS cursor
      FROM (SELECT 1) AS one LEFT JOIN user_streams s ON s.user_id = ${userId}`.execute(this.db);
    const first = row.rows[0];
    return {
      lastSeq: first?.last_seq ?? 0,
      unread: first?.unread ?? 0,
      readVersion: first?.read_version ?? 0,
      cursor: first?.cursor ?? null,
    };
  }

  /** Unexpired notifications with seq > afterSeq, oldest first. */
  async listAfter(userId: string, afterSeq: number, limit: number): Promise<StoredNotification[]> {
    const rows = await this.db
      .selectFrom('notifications')
      .selectAll()
      .where('user_id', '=', userId)
      .where('seq', '>', afterSeq)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
    return rows.map((row) => fromRow(row as NotificationRow));
  }
}
