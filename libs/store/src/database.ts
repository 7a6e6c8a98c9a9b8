import { Kysely, PostgresDialect } from 'kysely';
import { Pool, types, type PoolClient, type PoolConfig } from 'pg';
import type { Database } from './schema';
import { prepareMarkedStatements } from './prepared-statements';
import { isQueryTimeout } from './store-unavailable';

const INT8_OID = 20;

/**
 * bigint columns (seq, counts) come back as numbers: seqs stay far below 2^53, and numbers are what
 * the wire protocol carries. Set per pool, not globally, so nothing else in the process is affected.
 */
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return types.getTypeParser(oid, format);
  },
} as PoolConfig['types'];

export type Db = Kysely<Database>;

/**
 * How long a statement may run before the client gives up on it (pg's `query_timeout`). Far beyond
 * any statement the services run (the biggest: a retention batch of 5,000 rows, a gateway's whole
 * set of connection rows after it was found dead, a lock wait behind a transaction of a few
 * statements), so it only ends what will never answer: a connection whose server is gone without a
 * FIN or RST (network partition, dead host), where TCP alone waits for ~15 minutes of retransmissions
 * or, with nothing left to send, forever. Migrations run without it (`migrateDatabase`).
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 60_000;

/**
 * TCP keepalive on every connection to PostgreSQL, first probe after this much silence (then every
 * second, 10 probes: libuv's values): a connection whose server vanished while it waited for an
 * answer, or while it sat idle (an advisory lock's session), errors within ~20 s instead of hanging.
 */
export const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** pg's options for a connection that notices a vanished server (the pool's, an advisory lock's). */
export const CONNECTION_LIVENESS = {
  keepAlive: true,
  keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
} as const;

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
  applicationName?: string;
  /** Per statement, in ms (default DEFAULT_QUERY_TIMEOUT_MS); 0: none (migrations). */
  queryTimeoutMs?: number;
}

export function createDatabase(options: DatabaseOptions): { db: Db; pool: Pool } {
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'notify',
    types: typeParsers,
    // Also bounds the wait for a free pooled client: a reconnect storm queues many short queries, and
    // they should wait their turn rather than fail.
    connectionTimeoutMillis: 30_000,
    ...CONNECTION_LIVENESS,
    // pg reads 0 as "none" too; undefined keeps it explicit.
    query_timeout: (options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS) || undefined,
  });
  // A client losing its server (PostgreSQL restart or failover, pg_terminate_backend) emits 'error',
  // and an 'error' event nobody listens to ends the process. pg-pool listens only while a client is
  // idle in the pool ('error' on the pool); a client checked out by Kysely, between two queries of a
  // transaction or while its result is read, has no listener then. So every client gets its own for
  // life. Nothing else is lost by ignoring the event: the query in flight fails with the error
  // (StoreUnavailableError, see asStoreError), the client is no longer queryable, and the pool drops
  // it on release and connects a new one on next use.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    prepareMarkedStatements(client);
    endOnQueryTimeout(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}

type Query = (...args: unknown[]) => unknown;

/**
 * pg fails a query that outlives `query_timeout` ('Query read timeout', a StoreUnavailableError through
 * asStoreError) but leaves it on its connection: the next query sent there would wait behind it, and
 * on a connection whose server is gone, time out in turn, client after client of the pool. So the
 * connection is ended first (`end()` destroys the socket of a client with a query in flight), before
 * the caller sees the error: the pool drops a client that is ending when it comes back, and connects
 * a new one on next use. The server, if it is there, finds the socket closed when it next writes to
 * it; a statement it completes meanwhile is as uncertain as one whose connection was lost.
 */
function endOnQueryTimeout(client: PoolClient): void {
  const target = client as unknown as { query: Query };
  const query = target.query.bind(client) as Query;
  target.query = (...args: unknown[]): unknown => {
    const result = query(...args);
    if (!(result instanceof Promise)) return result;
    return result.catch((err: unknown) => {
      if (isQueryTimeout(err)) void client.end().catch(() => undefined);
      throw err;
    });
  };
}
