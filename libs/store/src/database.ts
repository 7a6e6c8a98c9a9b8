import { Kysely, PostgresDialect } from 'kysely';
import { Pool, types, type PoolConfig } from 'pg';
import type { Database } from './schema';
import { prepareMarkedStatements } from './prepared-statements';

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

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
  applicationName?: string;
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
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}
