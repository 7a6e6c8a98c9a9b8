import type { ChannelMessagePayload } from '@notify/protocol';
import { sql } from 'kysely';
import type { Db } from './database';
import { appendSequenced, IDEMPOTENCY_WINDOW_HOURS, type SequencedStream } from './sequenced-append';

export interface StoredChannelMessage {
  channel: string;
  offset: number;
  id: string;
  data: unknown;
  createdAt: Date;
}

/** The wire payload of a stored channel message (the `message` frame's fields). */
export const toChannelPayload = (m: StoredChannelMessage): ChannelMessagePayload => ({
  ...m,
  createdAt: m.createdAt.toISOString(),
});

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

/** Channel messages numbered per channel: offsets from channel_streams, keys in channel_idempotency_keys. */
const CHANNEL_STREAM: SequencedStream<NewChannelMessage, ChannelAppendResult, MessageRow> = {
  tables: { streams: 'channel_streams', events: 'channel_messages', keys: 'channel_idempotency_keys' },
  columns: { scope: 'channel', number: 'offset', last: 'last_offset', eventId: 'message_id' },
  fields: [{ name: 'data', type: 'jsonb', value: (m) => JSON.stringify(m.data) }],
  scopeOf: (m) => m.channel,
  stored: (item, id, offset, createdAt) => ({
    id,
    offset,
    duplicate: false,
    message: { channel: item.channel, offset, id, data: item.data, createdAt },
  }),
  duplicate: (key, row) => ({
    id: key.id,
    offset: key.number,
    duplicate: true,
    message: row ? fromRow(row) : null,
  }),
};

/** All SQL for channel history. Offsets are allocated like user seqs: gap-free, in commit order. */
export class ChannelsRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores a batch atomically with each channel's next offsets and returns one result per input, in
   * input order (see appendSequenced: gapless offsets, idempotency keys for 24 h).
   */
  appendMany(items: readonly NewChannelMessage[]): Promise<ChannelAppendResult[]> {
    return appendSequenced(this.db, CHANNEL_STREAM, items);
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
