import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Db } from './database';
import type { Database } from './schema';
import { appendIdempotent, idempotencyKeyOf, rowsPerScope } from './idempotent-batch';
import { isRetryableSqlError, withRetryableTransaction } from './transactions';
import { asStoreError } from './store-unavailable';
import { PREPARED } from './prepared-statements';
import {
  KEY_STORED,
  NEEDS_TRANSACTION,
  runAppendStatement,
  type AppendShape,
  type ColumnType,
} from './append-statement';

/**
 * How long a producer's idempotency key is remembered: long enough to cover any producer's retries
 * after an outage, and short enough that the key tables stay small. A retry within the window gets the
 * stored result; after it the key is forgotten (deleted at lookup and by retention) and may be reused.
 */
export const IDEMPOTENCY_WINDOW_HOURS = 24;

/** One column of the event table that the producer's item fills, besides scope, number and id. */
export interface EventColumn<I> {
  name: string;
  type: ColumnType;
  value(item: I): unknown;
}

/** The key row of a stored event, as found by its idempotency key. */
export interface KeyedEvent {
  scope: string;
  id: string;
  number: number;
}

/**
 * A stream of events numbered per scope (notifications per user, messages per channel): its tables
 * and columns (AppendShape), and how items and rows become results.
 */
export interface SequencedStream<
  I extends { idempotencyKey?: string },
  R extends { duplicate: boolean },
  Row,
> extends AppendShape {
  fields: readonly EventColumn<I>[];
  scopeOf(item: I): string;
  /** The result of an item stored now; `streamValue` is the scope's `streamColumn`, if any. */
  stored(item: I, id: string, number: number, createdAt: Date, streamValue: unknown): R;
  /**
   * Runs in the append's transaction after the insert, with the fresh results (to flag some rows).
   * It must have nothing to do when every scope's `streamColumn` is NULL: such a batch may be written
   * in one statement without it (see appendSequenced).
   */
  afterInsert?(trx: Transaction<Database>, fresh: readonly R[]): Promise<void>;
  /** The result of an item whose key was stored before; `event` is null once that event is gone. */
  duplicate(key: KeyedEvent, event: Row | null): R;
}

/**
 * How long the single-statement path waits for a row lock before it gives way to the transaction.
 * Short: only a process killed within it can leave a commit that nobody acknowledged behind it.
 */
const ONE_STATEMENT_LOCK_TIMEOUT = '5ms';

/** lock_not_available: the single statement waited longer than ONE_STATEMENT_LOCK_TIMEOUT. */
const LOCK_TIMEOUT = '55P03';

/**
 * Stores a batch atomically and returns one result per input, in input order: one statement allocates
 * numbers and inserts events and keys. Its first attempt assumes every key is new; if one is not, the
 * statement refuses (an error, so everything it wrote rolls back) and the next attempt first looks the
 * keys up.
 *
 * The statement is first sent on its own, in no explicit transaction: one round trip instead of three
 * (BEGIN, statement, COMMIT). It then runs under a lock timeout of a few milliseconds, set by itself
 * for itself: a batch that would wait longer for a row lock, needs `afterInsert` or meets a stored
 * key refuses and goes again in an explicit transaction, which waits as long as it takes. So a
 * statement still waiting for a lock when its process dies never commits what nobody will
 * acknowledge, unless the lock comes free within those milliseconds, as a process dying while its
 * COMMIT is in flight can leave a commit behind too.
 *
 * Numbers come from one upsert per scope on the streams table, scopes sorted so that concurrent
 * batches lock in one order. Its row lock serialises concurrent writers of the same scope, and since
 * the increment commits or rolls back with the rows it numbers, numbers have no gaps, and number N
 * committed implies every number below N is committed (gateways rely on this). Repeats of a key
 * inside the batch resolve to its first occurrence. A concurrent writer of the same key makes the
 * insert store no key for it (it waits for that writer's commit first): the attempt rolls back and the
 * retry finds that writer's result.
 */
export async function appendSequenced<
  I extends { idempotencyKey?: string },
  R extends { duplicate: boolean },
  Row,
>(db: Db, stream: SequencedStream<I, R, Row>, items: readonly I[]): Promise<R[]> {
  if (items.length === 0) return [];
  // Optimistic first: almost every key is new, so the first attempt skips the lookup (a round trip
  // and a statement on every keyed event's path) and lets the insert find out.
  let lookUp = false;
  try {
    return await appendIdempotent(items, stream.scopeOf, new Map<string, R>(), (fresh) =>
      insertFresh(db, stream, items, fresh, true),
    );
  } catch (err) {
    // KEY_STORED is among the retryable SQLSTATEs already.
    const code = (err as { code?: unknown } | null)?.code;
    if (code !== NEEDS_TRANSACTION && code !== LOCK_TIMEOUT && !isRetryableSqlError(err))
      throw asStoreError(err);
    lookUp = code === KEY_STORED;
  }
  return withRetryableTransaction(db, async (trx) => {
    const existing = lookUp ? await findByIdempotencyKeys(trx, stream, items) : new Map<string, R>();
    lookUp = true;
    return appendIdempotent(items, stream.scopeOf, existing, async (fresh) => {
      const results = await insertFresh(trx, stream, items, fresh, false);
      if (stream.afterInsert) await stream.afterInsert(trx, results);
      return results;
    });
  });
}

/**
 * `oneStatement`: run in no explicit transaction, so with a short lock timeout, and refuse (NT001) a batch
 * that `afterInsert` would have to complete.
 */
async function insertFresh<I extends { idempotencyKey?: string }, R extends { duplicate: boolean }, Row>(
  executor: Db | Transaction<Database>,
  stream: SequencedStream<I, R, Row>,
  items: readonly I[],
  fresh: readonly number[],
  oneStatement: boolean,
): Promise<R[]> {
  const { scopes, counts } = rowsPerScope(fresh.map((i) => stream.scopeOf(items[i])));
  const createdAt = new Date();
  const rows = fresh.map((i) => ({ item: items[i], id: randomUUID() }));
  const keyed = rows.filter((r) => r.item.idempotencyKey !== undefined);
  const numbered = await runAppendStatement(executor, stream, {
    lockTimeout: oneStatement ? ONE_STATEMENT_LOCK_TIMEOUT : null,
    scopes,
    counts,
    rowScopes: rows.map((r) => stream.scopeOf(r.item)),
    rowIds: rows.map((r) => r.id),
    fields: stream.fields.map((f) => rows.map((r) => f.value(r.item))),
    createdAt,
    keyedIds: keyed.map((r) => r.id),
    keyedKeys: keyed.map((r) => r.item.idempotencyKey as string),
    refuseUnlessTransaction: oneStatement && stream.afterInsert !== undefined,
  });
  const byId = new Map(numbered.rows.map((r) => [r.id, r]));
  const results = rows.map((r) => {
    const row = byId.get(r.id) as { num: number; extra: unknown };
    return stream.stored(r.item, r.id, Number(row.num), createdAt, row.extra);
  });
  return results;
}

async function findByIdempotencyKeys<
  I extends { idempotencyKey?: string },
  R extends { duplicate: boolean },
  Row,
>(
  trx: Transaction<Database>,
  stream: SequencedStream<I, R, Row>,
  items: readonly I[],
): Promise<Map<string, R>> {
  const found = new Map<string, R>();
  const keyed = items.filter((item) => item.idempotencyKey !== undefined);
  if (keyed.length === 0) return found;
  const { tables, columns: c } = stream;
  const id = sql.id;
  const wanted = sql`(SELECT * FROM unnest(${keyed.map((item) => item.idempotencyKey as string)}::text[],
    ${keyed.map(stream.scopeOf)}::text[]))`;
  // A key past its window is forgotten (deleted here), so the producer may reuse it. The statement
  // returns only the key table's own columns, so that it can stay prepared: a prepared statement whose
  // result columns change (a migration adding one to the events table) fails until reconnection.
  const keys = await sql<{
    key: string;
    key_scope: string;
    key_id: string;
    key_number: number;
  }>`${sql.raw(PREPARED)}
    WITH expired AS (
      DELETE FROM ${id(tables.keys)}
      WHERE (key, ${id(c.scope)}) IN ${wanted}
        AND created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
    )
    SELECT k.key, k.${id(c.scope)} AS key_scope, k.${id(c.eventId)} AS key_id, k.${id(c.number)} AS key_number
    FROM ${id(tables.keys)} k
    WHERE (k.key, k.${id(c.scope)}) IN ${wanted}
      AND k.created_at >= now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`.execute(trx);
  if (keys.rows.length === 0) return found;
  // Only a retry gets here: its events, read by a plain statement.
  const events = await sql<Row & { id: string }>`
    SELECT * FROM ${id(tables.events)} WHERE id = ANY(${keys.rows.map((k) => k.key_id)}::uuid[])`.execute(
    trx,
  );
  const byId = new Map(events.rows.map((e) => [e.id, e]));
  for (const row of keys.rows) {
    const key = { scope: row.key_scope, id: row.key_id, number: row.key_number };
    found.set(idempotencyKeyOf(row.key, row.key_scope), stream.duplicate(key, byId.get(row.key_id) ?? null));
  }
  return found;
}
