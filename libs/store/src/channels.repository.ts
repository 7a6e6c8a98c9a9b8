import type { ChannelMessagePayload } from '@notify/protocol';
import { sql } from 'kysely';
import type { Db } from './database';
import { appendSequenced, IDEMPOTENCY_WINDOW_HOURS, type SequencedStream } from './sequenced-append';

/** Rows one trim statement deletes at most. */
const TRIM_ROWS_PER_STATEMENT = 5_000;
/** Channels one size-trim statement takes; each gives up to TRIM_ROWS_PER_STATEMENT / this rows. */
const TRIM_CHANNELS_PER_STATEMENT = 50;
/** Statements per part and run at most: a run ends, the next interval goes on. */
const TRIM_MAX_STATEMENTS = 1_000;

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
   * Returns how many messages were deleted. Every statement touches a bounded number of rows (never
   * one delete of everything a long pause in retention let pile up), and neither part scans the
   * whole table: the size part reads channel_streams (one row per channel) for the channels over
   * their window and deletes by primary key, the age part walks the created_at index.
   */
  async trim(window: ChannelHistoryWindow, rowsPerStatement = TRIM_ROWS_PER_STATEMENT): Promise<number> {
    const perChannel = Math.max(1, Math.floor(rowsPerStatement / TRIM_CHANNELS_PER_STATEMENT));
    let deleted = 0;
    for (let i = 0; i < TRIM_MAX_STATEMENTS; i++) {
      // Retained messages are (trimmed_offset, last_offset]: everything at or below trimmed_offset is gone.
      const { rows } = await sql<{ deleted: number; channels: number }>`
        WITH over AS (
          SELECT channel, LEAST(last_offset - ${window.maxMessages}, trimmed_offset + ${perChannel}) AS upto
          FROM channel_streams
          WHERE last_offset - trimmed_offset > ${window.maxMessages}
          LIMIT ${TRIM_CHANNELS_PER_STATEMENT}),
        doomed AS (
          DELETE FROM channel_messages m USING over o
          WHERE m.channel = o.channel AND m."offset" <= o.upto
          RETURNING 1),
        marks AS (
          UPDATE channel_streams s SET trimmed_offset = GREATEST(s.trimmed_offset, o.upto)
          FROM over o WHERE s.channel = o.channel
          RETURNING 1)
        SELECT (SELECT count(*) FROM doomed)::int AS deleted, (SELECT count(*) FROM marks)::int AS channels`.execute(
        this.db,
      );
      deleted += rows[0]?.deleted ?? 0;
      if ((rows[0]?.channels ?? 0) === 0) break;
    }
    for (let i = 0; i < TRIM_MAX_STATEMENTS; i++) {
      const { rows } = await sql<{ deleted: number }>`
        WITH doomed AS (
          DELETE FROM channel_messages WHERE ctid IN (
            SELECT ctid FROM channel_messages
            WHERE created_at < now() - make_interval(secs => ${window.maxAgeSeconds})
            LIMIT ${rowsPerStatement})
          RETURNING channel, "offset"),
        marks AS (
          UPDATE channel_streams s SET trimmed_offset = GREATEST(s.trimmed_offset, d.top)
          FROM (SELECT channel, max("offset") AS top FROM doomed GROUP BY channel) d
          WHERE s.channel = d.channel)
        SELECT count(*)::int AS deleted FROM doomed`.execute(this.db);
      const n = rows[0]?.deleted ?? 0;
      deleted += n;
      if (n < rowsPerStatement) break;
    }
    for (let i = 0; i < TRIM_MAX_STATEMENTS; i++) {
      const r = await sql`
        DELETE FROM channel_idempotency_keys WHERE ctid IN (
          SELECT ctid FROM channel_idempotency_keys
          WHERE created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
          LIMIT ${rowsPerStatement})`.execute(this.db);
      if (Number(r.numAffectedRows ?? 0) < rowsPerStatement) break;
    }
    return deleted;
  }
}
