import { CompiledQuery, sql, type RawBuilder, type Transaction } from 'kysely';
import type { Db } from './database';
import type { Database } from './schema';
import { PREPARED } from './prepared-statements';

/** The statement refused to commit: a key of the batch was stored already (unique_violation). */
export const KEY_STORED = '23505';
/** The statement refused to commit on its own: the batch needs `afterInsert`, so a transaction. */
export const NEEDS_TRANSACTION = 'NT001';

/** The PostgreSQL type of an event column; its values are passed as one array of it. */
export type ColumnType = 'text' | 'jsonb' | 'timestamptz';

/** Every value of one append statement; each is one parameter (arrays are passed whole). */
export interface AppendValues {
  /** For the statement's own transaction only; null keeps the session's (inside a transaction). */
  lockTimeout: string | null;
  /** Per scope, sorted: how many numbers to reserve. */
  scopes: string[];
  counts: number[];
  /** Per fresh row, in input order. */
  rowScopes: string[];
  rowIds: string[];
  /** One array per stream field, in the stream's field order. */
  fields: unknown[][];
  createdAt: Date;
  /** The fresh rows that carry an idempotency key: their ids and keys. */
  keyedIds: string[];
  keyedKeys: string[];
  refuseUnlessTransaction: boolean;
}

export interface NumberedRow {
  id: string;
  num: number;
  extra: unknown;
}

/**
 * What the statement's text depends on, and all it does: a stream's tables and columns (a
 * SequencedStream is one). Names are fixed by the repositories, never taken from input.
 */
export interface AppendShape {
  /** One row per scope with the last number allocated (`last`); the events; the producers' keys. */
  tables: { streams: string; events: string; keys: string };
  /** Column names: `scope` in all three tables, `number` in events and keys, `eventId` in keys. */
  columns: { scope: string; number: string; last: string; eventId: string };
  /** What the item fills in the events table besides scope, number, id and created_at. */
  fields: readonly { name: string; type: ColumnType }[];
  /**
   * A column of the streams row (the user's preferences) that the numbering upsert returns anyway:
   * handed to `stored` with each item, so reading it costs no extra statement.
   */
  streamColumn?: string;
}

type Slot = Exclude<keyof AppendValues, 'fields'> | 'keyedCount' | number;

/** What a stream's statement compiles to: its text, and which value goes in each parameter. */
interface CompiledAppend {
  text: string;
  slots: Slot[];
}

/**
 * Built and compiled once per stream: the text depends only on the stream's tables and columns, and
 * every value is a parameter. Building it with Kysely's `sql` on every append compiled the same text
 * each time and was about 29 of the 109 KB ingest allocated per notification.
 */
const compiled = new WeakMap<object, CompiledAppend>();

export function runAppendStatement(
  executor: Db | Transaction<Database>,
  stream: AppendShape,
  values: AppendValues,
): Promise<{ rows: NumberedRow[] }> {
  let statement = compiled.get(stream);
  if (statement === undefined) {
    statement = compile(executor, stream);
    compiled.set(stream, statement);
  }
  const parameters = statement.slots.map((slot) =>
    typeof slot === 'number'
      ? values.fields[slot]
      : slot === 'keyedCount'
        ? values.keyedIds.length
        : values[slot],
  );
  return executor.executeQuery<NumberedRow>(CompiledQuery.raw(statement.text, parameters));
}

/** A parameter's place in the text, found again after compiling by the object's identity. */
class Placeholder {
  constructor(readonly slot: Slot) {}
}

function compile(executor: Db | Transaction<Database>, stream: AppendShape): CompiledAppend {
  const query = appendStatement(stream, (slot) => new Placeholder(slot)).compile(executor);
  const slots = query.parameters.map((p) => {
    if (!(p instanceof Placeholder)) throw new Error('append statement: a value is not a placeholder');
    return p.slot;
  });
  return { text: query.sql, slots };
}

/**
 * Allocates numbers and inserts events and keys in one statement (the contract is on appendSequenced).
 * The n-th fresh row of a scope gets (new last − its count + n): the same numbering in input order as
 * the numbers the upsert reserved.
 */
function appendStatement(stream: AppendShape, $: (slot: Slot) => Placeholder): RawBuilder<NumberedRow> {
  const { tables, columns: c } = stream;
  const id = sql.id;
  const list = (parts: readonly RawBuilder<unknown>[]): RawBuilder<unknown> => sql.join(parts, sql`, `);
  const fields = stream.fields.map((f) => id(f.name));
  const arrays = stream.fields.map((f, i) => sql`${$(i)}::${sql.raw(f.type)}[]`);
  const extra = stream.streamColumn ? id(stream.streamColumn) : sql`NULL`;
  // The lock timeout is set first (alloc reads a row of `limits` before it locks anything) and only
  // for this statement's own transaction; a transaction keeps the session's.
  return sql<NumberedRow>`${sql.raw(PREPARED)}
    WITH limits AS MATERIALIZED (
      SELECT set_config('lock_timeout', coalesce(${$('lockTimeout')}::text, current_setting('lock_timeout')), true)
    ), alloc AS (
      INSERT INTO ${id(tables.streams)} (${id(c.scope)}, ${id(c.last)})
      SELECT s, n FROM unnest(${$('scopes')}::text[], ${$('counts')}::bigint[]) AS t(s, n) CROSS JOIN limits
      ORDER BY s
      ON CONFLICT (${id(c.scope)}) DO UPDATE
        SET ${id(c.last)} = ${id(tables.streams, c.last)} + EXCLUDED.${id(c.last)}
      RETURNING ${id(c.scope)} AS scope, ${id(c.last)} AS last_number, ${extra} AS extra
    ), fresh AS (
      SELECT r.*, a.extra, a.last_number - count(*) OVER w + row_number() OVER (w ORDER BY r.ord) AS num
      FROM unnest(${$('rowScopes')}::text[], ${$('rowIds')}::uuid[],
        ${list(arrays)}) WITH ORDINALITY AS r(scope, id, ${list(fields)}, ord)
      JOIN alloc a ON a.scope = r.scope
      WINDOW w AS (PARTITION BY r.scope)
    ), stored AS (
      INSERT INTO ${id(tables.events)} (${id(c.scope)}, ${id(c.number)}, id, ${list(fields)}, created_at)
      SELECT scope, num, id, ${list(fields)}, ${$('createdAt')} FROM fresh
    ), keys AS (
      INSERT INTO ${id(tables.keys)} (key, ${id(c.scope)}, ${id(c.eventId)}, ${id(c.number)})
      SELECT k.key, f.scope, f.id, f.num
      FROM unnest(${$('keyedIds')}::uuid[], ${$('keyedKeys')}::text[]) AS k(id, key)
      JOIN fresh f ON f.id = k.id
      ON CONFLICT DO NOTHING
      RETURNING 1
    ), verdict AS (
      -- A key was stored already, or a batch without a transaction needs afterInsert: no commit.
      SELECT CASE
        WHEN (SELECT count(*) FROM keys) < ${$('keyedCount')}::int
          THEN notify_refuse_append('${sql.raw(KEY_STORED)}', 'an idempotency key of the batch is stored already')
        WHEN ${$('refuseUnlessTransaction')}::boolean AND EXISTS (SELECT 1 FROM alloc WHERE extra IS NOT NULL)
          THEN notify_refuse_append('${sql.raw(NEEDS_TRANSACTION)}', 'the batch needs a transaction')
      END AS refused
    )
    SELECT id, num, extra FROM fresh CROSS JOIN verdict`;
}
