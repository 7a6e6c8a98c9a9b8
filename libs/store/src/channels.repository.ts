import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from './database';
import { IDEMPOTENCY_WINDOW_HOURS } from './notifications.repository';
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

  append(channel: string, data: unknown, idempotencyKey?: string): Promise<ChannelAppendResult> {
    return withRetryableTransaction(this.db, async (trx) => {
      if (idempotencyKey !== undefined) {
        await sql`
          DELETE FROM channel_idempotency_keys WHERE key = ${idempotencyKey} AND channel = ${channel}
            AND created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`.execute(trx);
        const seen = await sql<{ message_id: string; offset: number } & Partial<MessageRow>>`
          SELECT k.message_id, k."offset", m.channel, m.id, m.data, m.created_at
          FROM channel_idempotency_keys k LEFT JOIN channel_messages m ON m.id = k.message_id
          WHERE k.key = ${idempotencyKey} AND k.channel = ${channel}`.execute(trx);
        const hit = seen.rows[0];
        if (hit) {
          return {
            id: hit.message_id,
            offset: hit.offset,
            duplicate: true,
            message: hit.id ? fromRow(hit as MessageRow) : null,
          };
        }
      }
      const allocated = await sql<{ last_offset: number }>`
        INSERT INTO channel_streams (channel, last_offset) VALUES (${channel}, 1)
        ON CONFLICT (channel) DO UPDATE SET last_offset = channel_streams.last_offset + 1
        RETURNING last_offset`.execute(trx);
      const message: StoredChannelMessage = {
        channel,
        offset: allocated.rows[0].last_offset,
        id: randomUUID(),
        data,
        createdAt: new Date(),
      };
      await sql`
        INSERT INTO channel_messages (channel, "offset", id, data, created_at)
        VALUES (${channel}, ${message.offset}, ${message.id}, ${JSON.stringify(data)}::jsonb, ${message.createdAt})`.execute(
        trx,
      );
      if (idempotencyKey !== undefined) {
        await sql`
          INSERT INTO channel_idempotency_keys (key, channel, message_id, "offset")
          VALUES (${idempotencyKey}, ${channel}, ${message.id}, ${message.offset})`.execute(trx);
      }
      return { id: message.id, offset: message.offset, duplicate: false, message };
    });
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
