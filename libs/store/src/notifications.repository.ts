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
import { appendIdempotent, idempotencyKeyOf, rowsPerScope } from './idempotent-batch';
import { withRetryableTransaction } from './transactions';

/** How long a producer's idempotency key is remembered (DESIGN §2.5). */
export const IDEMPOTENCY_WINDOW_HOURS = 24;

export interface SessionKey {
  userId: string;
  deviceId: string;
}

export interface SessionState {
  /** The user's newest seq (0 before the first notification). */
  lastSeq: number;
  unread: number;
  readVersion: number;
  /** The device's acked seq, or null for a device never seen. */
  cursor: number | null;
}

/** All SQL for the user inbox. */
export class NotificationsRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores a batch atomically and returns one result per input, in input order, in one transaction of
   * two statements: one looks up idempotency keys, one allocates seqs and inserts. It is an explicit
   * transaction, although each statement is atomic, so that a statement still waiting for a lock when
   * its process dies never commits what nobody will acknowledge. Seqs come from one upsert per user on user_streams: its row lock serialises
   * concurrent writers of the same user, and since the increment commits or rolls back with the rows
   * it numbers, seqs have no gaps, and seq N committed implies every seq below N is committed
   * (gateways rely on this). A concurrent writer of the same key makes the insert fail with a unique
   * violation; the retry then finds that writer's result.
   */
  append(items: readonly NewNotification[]): Promise<AppendResult[]> {
    if (items.length === 0) return Promise.resolve([]);
    return withRetryableTransaction(this.db, (trx) => this.appendIn(trx, items));
  }

  private async appendIn(
    trx: Transaction<Database>,
    items: readonly NewNotification[],
  ): Promise<AppendResult[]> {
    const existing = await this.findByIdempotencyKeys(trx, items);
    return appendIdempotent(
      items,
      (item) => item.userId,
      existing,
      (fresh) => this.insertFresh(trx, items, fresh),
    );
  }

  private async insertFresh(
    trx: Transaction<Database>,
    items: readonly NewNotification[],
    fresh: readonly number[],
  ): Promise<AppendResult[]> {
    const { scopes: users, counts } = rowsPerScope(fresh.map((i) => items[i].userId));
    const createdAt = new Date();
    const rows = fresh.map((i) => ({ item: items[i], id: randomUUID() }));
    const keyed = rows.filter((r) => r.item.idempotencyKey !== undefined);
    // The n-th fresh row of a user gets (new last_seq − its count + n): the same numbering in input
    // order as the seqs the upsert reserved.
    const numbered = await sql<{ id: string; seq: number }>`
      WITH alloc AS (
        INSERT INTO user_streams (user_id, last_seq)
        SELECT u, c FROM unnest(${users}::text[], ${counts}::bigint[]) AS t(u, c)
        ORDER BY u
        ON CONFLICT (user_id) DO UPDATE SET last_seq = user_streams.last_seq + EXCLUDED.last_seq
        RETURNING user_id, last_seq
      ), fresh AS (
        SELECT r.*, a.last_seq - count(*) OVER w + row_number() OVER (w ORDER BY r.ord) AS seq
        FROM unnest(${rows.map((r) => r.item.userId)}::text[], ${rows.map((r) => r.id)}::uuid[],
          ${rows.map((r) => r.item.topic)}::text[], ${rows.map((r) => r.item.title ?? null)}::text[],
          ${rows.map((r) => r.item.body ?? null)}::text[],
          ${rows.map((r) => (r.item.data === undefined ? null : JSON.stringify(r.item.data)))}::jsonb[],
          ${rows.map((r) => r.item.expiresAt ?? null)}::timestamptz[])
          WITH ORDINALITY AS r(user_id, id, topic, title, body, data, expires_at, ord)
        JOIN alloc a ON a.user_id = r.user_id
        WINDOW w AS (PARTITION BY r.user_id)
      ), stored AS (
        INSERT INTO notifications (user_id, seq, id, topic, title, body, data, created_at, expires_at)
        SELECT user_id, seq, id, topic, title, body, data, ${createdAt}, expires_at FROM fresh
      ), keys AS (
        INSERT INTO idempotency_keys (key, user_id, notification_id, seq)
        SELECT k.key, f.user_id, f.id, f.seq
        FROM unnest(${keyed.map((r) => r.id)}::uuid[], ${keyed.map((r) => r.item.idempotencyKey as string)}::text[]) AS k(id, key)
        JOIN fresh f ON f.id = k.id
      )
      SELECT id, seq FROM fresh`.execute(trx);
    const seqOf = new Map(numbered.rows.map((r) => [r.id, Number(r.seq)]));
    return rows.map(({ item, id }) => {
      const seq = seqOf.get(id) as number;
      const stored: StoredNotification = {
        userId: item.userId,
        seq,
        id,
        topic: item.topic,
        title: item.title ?? null,
        body: item.body ?? null,
        data: item.data ?? null,
        createdAt,
        expiresAt: item.expiresAt ?? null,
        readAt: null,
      };
      return { userId: item.userId, id, seq, duplicate: false, notification: stored };
    });
  }

  private async findByIdempotencyKeys(
    trx: Transaction<Database>,
    items: readonly NewNotification[],
  ): Promise<Map<string, AppendResult>> {
    const found = new Map<string, AppendResult>();
    const keyed = items.filter((item) => item.idempotencyKey !== undefined);
    if (keyed.length === 0) return found;
    const keys = keyed.map((item) => item.idempotencyKey as string);
    const users = keyed.map((item) => item.userId);
    // A key past its window is forgotten (deleted here), so the producer may reuse it.
    const rows = await sql<
      NotificationRow & { key: string; key_user: string; key_id: string; key_seq: number }
    >`
      WITH expired AS (
        DELETE FROM idempotency_keys
        WHERE (key, user_id) IN (SELECT * FROM unnest(${keys}::text[], ${users}::text[]))
          AND created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
      )
      SELECT k.key, k.user_id AS key_user, k.notification_id AS key_id, k.seq AS key_seq, n.*
      FROM idempotency_keys k LEFT JOIN notifications n ON n.id = k.notification_id
      WHERE (k.key, k.user_id) IN (SELECT * FROM unnest(${keys}::text[], ${users}::text[]))
        AND k.created_at >= now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`.execute(trx);
    for (const row of rows.rows) {
      found.set(idempotencyKeyOf(row.key, row.key_user), {
        userId: row.key_user,
        id: row.key_id,
        seq: row.key_seq,
        duplicate: true,
        notification: row.id ? fromRow(row as NotificationRow) : null,
      });
    }
    return found;
  }

  /**
   * What a socket needs at open: the user's newest seq, unread count and read-state version, and the
   * device's cursor (null when the device never acked). One query for many sockets (a reconnect storm
   * brings thousands at once): one result per key, in input order.
   */
  async sessionStates(keys: readonly SessionKey[]): Promise<SessionState[]> {
    if (keys.length === 0) return [];
    const { rows } = await sql<{
      i: number;
      last_seq: number | null;
      read_version: number | null;
      unread: number;
      cursor: number | null;
    }>`
      SELECT k.i::int AS i, s.last_seq, s.read_version,
             (SELECT count(*) FROM notifications n
              WHERE n.user_id = k.user_id AND n.read_at IS NULL
                AND (n.expires_at IS NULL OR n.expires_at > now())) AS unread,
             (SELECT c.acked_seq FROM device_cursors c
              WHERE c.user_id = k.user_id AND c.device_id = k.device_id) AS cursor
      FROM unnest(${keys.map((k) => k.userId)}::text[], ${keys.map((k) => k.deviceId)}::text[])
           WITH ORDINALITY AS k(user_id, device_id, i)
      LEFT JOIN user_streams s ON s.user_id = k.user_id`.execute(this.db);
    const out = new Array<SessionState>(keys.length);
    for (const row of rows)
      out[row.i - 1] = {
        lastSeq: row.last_seq ?? 0,
        unread: row.unread ?? 0,
        readVersion: row.read_version ?? 0,
        cursor: row.cursor ?? null,
      };
    return out;
  }

  /**
   * Per request, the user's unexpired notifications with seq > afterSeq, oldest first, at most
   * `limit`: one query for many users, one page per request, in input order.
   */
  async listAfterMany(
    requests: readonly { userId: string; afterSeq: number }[],
    limit: number,
  ): Promise<StoredNotification[][]> {
    const out = requests.map((): StoredNotification[] => []);
    if (requests.length === 0) return out;
    const { rows } = await sql<NotificationRow & { i: number }>`
      SELECT k.i::int AS i, n.*
      FROM unnest(${requests.map((r) => r.userId)}::text[], ${requests.map((r) => r.afterSeq)}::bigint[])
           WITH ORDINALITY AS k(user_id, after_seq, i)
      CROSS JOIN LATERAL (
        SELECT * FROM notifications n
        WHERE n.user_id = k.user_id AND n.seq > k.after_seq
          AND (n.expires_at IS NULL OR n.expires_at > now())
        ORDER BY n.seq
        LIMIT ${limit}) n
      ORDER BY k.i, n.seq`.execute(this.db);
    for (const row of rows) out[row.i - 1].push(fromRow(row));
    return out;
  }
}
