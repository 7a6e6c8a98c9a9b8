import { sql } from 'kysely';
import { isSilenced, type Preferences } from '@notify/protocol';
import type { Db } from './database';
import { unexpired, unreadCountOf } from './notification-filters';
import {
  fromRow,
  type AppendResult,
  type NewNotification,
  type NotificationRow,
  type StoredNotification,
} from './notification-records';
import { appendSequenced, type SequencedStream } from './sequenced-append';
import { connectionsElsewhereSql } from './user-connections.repository';

export interface SessionKey {
  userId: string;
  deviceId: string;
}

export interface SessionState {
  /** The user's newest seq (0 before the first notification). */
  lastSeq: number;
  unread: number;
  readVersion: number;
  /** The user's preferences and their version (0: never set), sent after `ready` when set. */
  preferences: Preferences | null;
  preferencesVersion: number;
  /** The device's acked seq, or null for a device never seen. */
  cursor: number | null;
  /** The user's connections on the other live gateway nodes (0 unless the read was asked to count). */
  connectionsElsewhere: number;
}

/** Which node is reading, so the user's connections on the other live nodes are counted too. */
export interface CountConnectionsElsewhere {
  nodeId: string;
  nodeTtlMs: number;
}

/** Notifications numbered per user: seqs from user_streams.last_seq, keys in idempotency_keys. */
const NOTIFICATION_STREAM: SequencedStream<NewNotification, AppendResult, NotificationRow> = {
  tables: { streams: 'user_streams', events: 'notifications', keys: 'idempotency_keys' },
  columns: { scope: 'user_id', number: 'seq', last: 'last_seq', eventId: 'notification_id' },
  fields: [
    { name: 'topic', type: 'text', value: (n) => n.topic },
    { name: 'title', type: 'text', value: (n) => n.title ?? null },
    { name: 'body', type: 'text', value: (n) => n.body ?? null },
    { name: 'data', type: 'jsonb', value: (n) => (n.data === undefined ? null : JSON.stringify(n.data)) },
    { name: 'expires_at', type: 'timestamptz', value: (n) => n.expiresAt ?? null },
  ],
  scopeOf: (n) => n.userId,
  // The upsert that numbers the batch returns each user's preferences: no extra read, and a user
  // without preferences costs nothing more.
  streamColumn: 'preferences',
  stored: (item, id, seq, createdAt, preferences) => ({
    userId: item.userId,
    id,
    seq,
    duplicate: false,
    notification: {
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
      retractedAt: null,
      silent: isSilenced(preferences as Preferences | null, item.topic, item.priority, createdAt),
    },
  }),
  // Silent rows are flagged in the same transaction; a statement only when the batch has one.
  async afterInsert(trx, fresh) {
    const silent = fresh.filter((r) => r.notification?.silent).map((r) => r.id);
    if (silent.length === 0) return;
    await sql`UPDATE notifications SET silent = true WHERE id = ANY(${silent}::uuid[])`.execute(trx);
  },
  duplicate: (key, row) => ({
    userId: key.scope,
    id: key.id,
    seq: key.number,
    duplicate: true,
    notification: row ? fromRow(row) : null,
  }),
};

/** All SQL for the user inbox. */
export class NotificationsRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores a batch atomically with each user's next seqs and returns one result per input, in input
   * order (see appendSequenced: gapless seqs, idempotency keys for 24 h).
   */
  append(items: readonly NewNotification[]): Promise<AppendResult[]> {
    return appendSequenced(this.db, NOTIFICATION_STREAM, items);
  }

  /**
   * What a socket needs at open: the user's newest seq, unread count and read-state version, and the
   * device's cursor (null when the device never acked); with `count`, also the user's connections
   * on the other live gateway nodes. One query for many sockets (a reconnect storm
   * brings thousands at once): one result per key, in input order.
   */
  async sessionStates(
    keys: readonly SessionKey[],
    count?: CountConnectionsElsewhere,
  ): Promise<SessionState[]> {
    if (keys.length === 0) return [];
    const { rows } = await sql<{
      i: number;
      last_seq: number | null;
      read_version: number | null;
      preferences: Preferences | null;
      preferences_version: number | null;
      unread: number;
      cursor: number | null;
      elsewhere: number;
    }>`
      SELECT k.i::int AS i, s.last_seq, s.read_version, s.preferences, s.preferences_version,
             ${unreadCountOf(sql.ref('k.user_id'))} AS unread,
             (SELECT c.acked_seq FROM device_cursors c
              WHERE c.user_id = k.user_id AND c.device_id = k.device_id) AS cursor,
             ${count ? connectionsElsewhereSql(sql.ref('k.user_id'), count.nodeId, count.nodeTtlMs) : sql`0`} AS elsewhere
      FROM unnest(${keys.map((k) => k.userId)}::text[], ${keys.map((k) => k.deviceId)}::text[])
           WITH ORDINALITY AS k(user_id, device_id, i)
      LEFT JOIN user_streams s ON s.user_id = k.user_id`.execute(this.db);
    const out = new Array<SessionState>(keys.length);
    for (const row of rows)
      out[row.i - 1] = {
        lastSeq: row.last_seq ?? 0,
        unread: row.unread ?? 0,
        readVersion: row.read_version ?? 0,
        preferences: row.preferences ?? null,
        preferencesVersion: row.preferences_version ?? 0,
        cursor: row.cursor ?? null,
        connectionsElsewhere: row.elsewhere,
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
        WHERE n.user_id = k.user_id AND n.seq > k.after_seq AND ${unexpired('n.')}
        ORDER BY n.seq
        LIMIT ${limit}) n
      ORDER BY k.i, n.seq`.execute(this.db);
    for (const row of rows) out[row.i - 1].push(fromRow(row));
    return out;
  }
}
