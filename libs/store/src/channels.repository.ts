import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Db } from './database';
import type { Database } from './schema';
import { IDEMPOTENCY_WINDOW_HOURS } from './notifications.repository';
import { appendIdempotent, idempotencyKeyOf, rowsPerScope } from './idempotent-batch';
import { withRetryableTransaction } from './transactions';

export interface StoredChannelMessage {
  channel: string;
  offset: number;
  id: string;
  data: unknown;
  createdAt: Date;
}

export interface ChannelAppendResult {
  id: string;
  offset: number;
  duplicate: boolean;
  /** The stored message, unless a duplicate's original has left the history window. */
  message: StoredChannelMessage | null;
}

export interface NewChannelMessage {
  channel: string;
  data: unknown;
  idempotencyKey?: string;
}

export interface ChannelState {
  lastOffset: number;
  trimmedOffset: number;
}

export interface ChannelHistoryWindow {
  /** Messages kept per channel at most. */
  maxMessages: number;
  /** Messages older than this are dropped. */
  maxAgeSeconds: number;
}

interface MessageRow {
  channel: string;
  offset: number;
  id: string;
  data: unknown;
  created_at: Date;
}

const fromRow = (r: MessageRow): StoredChannelMessage => ({
  channel: r.channel,
  offset: r.offset,
  id: r.id,
  data: r.data,
  createdAt: r.created_at,
});

/** All SQL for channel history. Offsets are allocated like user seqs: gap-free, in commit order. */
export class ChannelsRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores a batch atomically and returns one result per input, in input order, in one transaction of
   * two statements (a key lookup, then one that allocates offsets and inserts), like notifications.
   * Offsets come from one upsert per channel, sorted, so concurrent batches lock in one order; repeats
   * of an idempotency key inside the batch resolve to its first occurrence.
   */
  appendMany(items: readonly NewChannelMessage[]): Promise<ChannelAppendResult[]> {
    if (items.length === 0) return Promise.resolve([]);
    return withRetryableTransaction(this.db, async (trx) => {
      const existing = await this.findByIdempotencyKeys(trx, items);
      return appendIdempotent(
        items,
        (item) => item.channel,
        existing,
        (fresh) => this.insertFresh(trx, items, fresh),
      );
    });
  }

  private async insertFresh(
    trx: Transaction<Database>,
    items: readonly NewChannelMessage[],
    fresh: readonly number[],
  ): Promise<ChannelAppendResult[]> {
    const { scopes: channels, counts } = rowsPerScope(fresh.map((i) => items[i].channel));
    const createdAt = new Date();
    const rows = fresh.map((i) => ({ item: items[i], id: randomUUID() }));
    const keyed = rows.filter((r) => r.item.idempotencyKey !== undefined);
    // A concurrent writer of the same key fails this statement with a unique violation (nothing of
    // it stays); the retry then finds that writer's committed result.
    const numbered = await sql<{ id: string; offset: number }>`
      WITH alloc AS (
        INSERT INTO channel_streams (channel, last_offset)
        SELECT c, n FROM unnest(${channels}::text[], ${counts}::bigint[]) AS t(c, n)
        ORDER BY c
        ON CONFLICT (channel) DO UPDATE SET last_offset = channel_streams.last_offset + EXCLUDED.last_offset
        RETURNING channel, last_offset
      ), fresh AS (
        SELECT r.*, a.last_offset - count(*) OVER w + row_number() OVER (w ORDER BY r.ord) AS "offset"
        FROM unnest(${rows.map((r) => r.item.channel)}::text[], ${rows.map((r) => r.id)}::uuid[],
          ${rows.map((r) => JSON.stringify(r.item.data))}::jsonb[]) WITH ORDINALITY AS r(channel, id, data, ord)
        JOIN alloc a ON a.channel = r.channel
        WINDOW w AS (PARTITION BY r.channel)
      ), stored AS (
        INSERT INTO channel_messages (channel, "offset", id, data, created_at)
        SELECT channel, "offset", id, data, ${createdAt} FROM fresh
      ), keys AS (
        INSERT INTO channel_idempotency_keys (key, channel, message_id, "offset")
        SELECT k.key, f.channel, f.id, f."offset"
        FROM unnest(${keyed.map((r) => r.id)}::uuid[], ${keyed.map((r) => r.item.idempotencyKey as string)}::text[]) AS k(id, key)
        JOIN fresh f ON f.id = k.id
      )
      SELECT id, "offset" FROM fresh`.execute(trx);
    const offsetOf = new Map(numbered.rows.map((r) => [r.id, Number(r.offset)]));
    return rows.map(({ item, id }) => {
      const offset = offsetOf.get(id) as number;
      const message: StoredChannelMessage = { channel: item.channel, offset, id, data: item.data, createdAt };
      return { id, offset, duplicate: false, message };
    });
  }

  private async findByIdempotencyKeys(
    trx: Transaction<Database>,
    items: readonly NewChannelMessage[],
  ): Promise<Map<string, ChannelAppendResult>> {
    const found = new Map<string, ChannelAppendResult>();
    const keyed = items.filter((item) => item.idempotencyKey !== undefined);
    if (keyed.length === 0) return found;
    const keys = keyed.map((item) => item.idempotencyKey as string);
    const channels = keyed.map((item) => item.channel);
    // A key past its window is forgotten (deleted here), so the producer may reuse it.
    const rows = await sql<
      { key: string; key_channel: string; message_id: string; key_offset: number } & Partial<MessageRow>
    >`
      WITH expired AS (
        DELETE FROM channel_idempotency_keys
        WHERE (key, channel) IN (SELECT * FROM unnest(${keys}::text[], ${channels}::text[]))
          AND created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
      )
      SELECT k.key, k.channel AS key_channel, k.message_id, k."offset" AS key_offset,
             m.channel, m."offset", m.id, m.data, m.created_at
      FROM channel_idempotency_keys k LEFT JOIN channel_messages m ON m.id = k.message_id
      WHERE (k.key, k.channel) IN (SELECT * FROM unnest(${keys}::text[], ${channels}::text[]))
        AND k.created_at >= now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`.execute(trx);
    for (const row of rows.rows) {
      found.set(idempotencyKeyOf(row.key, row.key_channel), {
        id: row.message_id,
        offset: row.key_offset,
        duplicate: true,
        message: row.id ? fromRow(row as MessageRow) : null,
      });
    }
    return found;
  }

  async state(channel: string): Promise<ChannelState> {
    const row = await this.db
      .selectFrom('channel_streams')
      .select(['last_offset', 'trimmed_offset'])
      .where('channel', '=', channel)
      .executeTakeFirst();
    return { lastOffset: row?.last_offset ?? 0, trimmedOffset: row?.trimmed_offset ?? 0 };
  }

  /** Retained messages with afterOffset < offset, oldest first. */
  async listAfter(channel: string, afterOffset: number, limit: number): Promise<StoredChannelMessage[]> {
    const rows = await sql<MessageRow>`
      SELECT channel, "offset", id, data, created_at FROM channel_messages
      WHERE channel = ${channel} AND "offset" > ${afterOffset}
      ORDER BY "offset" LIMIT ${limit}`.execute(this.db);
    return rows.rows.map(fromRow);
  }

  /**
   * Drops messages outside the history window and records, per channel, the highest offset dropped.
   * Returns how many messages were deleted.
   */
  async trim(window: ChannelHistoryWindow): Promise<number> {
    const result = await sql<{ deleted: number }>`
      WITH doomed AS (
        DELETE FROM channel_messages m USING channel_streams s
        WHERE m.channel = s.channel
          AND (m."offset" <= s.last_offset - ${window.maxMessages}
               OR m.created_at < now() - make_interval(secs => ${window.maxAgeSeconds}))
        RETURNING m.channel, m."offset"),
      marks AS (
        UPDATE channel_streams s SET trimmed_offset = GREATEST(s.trimmed_offset, d.top)
        FROM (SELECT channel, max("offset") AS top FROM doomed GROUP BY channel) d
        WHERE s.channel = d.channel)
      SELECT count(*)::int AS deleted FROM doomed`.execute(this.db);
    await sql`
      DELETE FROM channel_idempotency_keys
      WHERE created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`.execute(this.db);
    return result.rows[0]?.deleted ?? 0;
  }
}
