import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import {
  AdvisoryLock,
  asStoreError,
  createDatabase,
  StoreUnavailableError,
  withRetryableTransaction,
  type Db,
} from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';

/** Small, so that a statement outlives it; far beyond what `SELECT 1` takes on a loaded machine. */
const QUERY_TIMEOUT_MS = 1_000;
/** Far beyond the timeout: what the server still runs after the client gave up (dropped with the database). */
const NEVER = sql`SELECT pg_sleep(120)`;

const backendPid = async (db: Db): Promise<number> =>
  (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0].pid;

/**
 * The keepalive timer of this machine's TCP socket from `localPort` to PostgreSQL's 5432, from
 * /proc/net/tcp: null when it has none, else the ticks (USER_HZ, 100 a second) until its next probe.
 */
function keepaliveTimer(localPort: number): number | null {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  const lines = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((f) => readFileSync(f, 'utf8').split('\n'));
  for (const line of lines) {
    const [, local, remote, state, , timer] = line.trim().split(/\s+/);
    if (!local?.endsWith(`:${hex(localPort)}`) || !remote?.endsWith(`:${hex(5432)}`)) continue;
    if (state !== '01') continue; // not ESTABLISHED: an earlier connection from the same port
    const [active, when] = timer.split(':').map((n) => parseInt(n, 16));
    // Timer 2 is the socket's own timer: on an established connection, keepalive's.
    return active === 2 ? when : null;
  }
  throw new Error(`no TCP socket from port ${localPort} to 5432`);
}

describe('connections to PostgreSQL whose server stops answering (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  before(async () => {
    testDb = await createTestDatabase();
  });
  after(async () => testDb?.drop());

  it('fails a statement past the query timeout as the store being unavailable, and the pool goes on', async () => {
    // One connection: whatever runs after the timeout runs on the pool's next connection.
    const { db } = createDatabase({ url: testDb.url, poolSize: 1, queryTimeoutMs: QUERY_TIMEOUT_MS });
    try {
      const first = await backendPid(db);
      const err = await NEVER.execute(db).then(
        () => assert.fail('the statement answered'),
        (e: unknown) => e,
      );
      const reported = asStoreError(err);
      assert.ok(reported instanceof StoreUnavailableError, `not a store-unavailable error: ${String(err)}`);
      assert.match(reported.message, /Query read timeout/);

      // The timed-out connection was closed, not handed out again behind the statement it still runs.
      const second = await backendPid(db);
      assert.notEqual(second, first);

      // In a transaction (the append path, ingest's HTTP 503 and AMQP retry): the same error.
      await assert.rejects(
        withRetryableTransaction(db, (trx) => NEVER.execute(trx)),
        (e: unknown) => e instanceof StoreUnavailableError,
      );
      const third = await backendPid(db);
      assert.ok(third !== first && third !== second);
      assert.equal((await sql<{ one: number }>`SELECT 1 AS one`.execute(db)).rows[0].one, 1);
    } finally {
      await db.destroy();
    }
  });

  it('runs TCP keepalive on the pool’s connections and on an advisory lock’s, first probe within 10 s', async () => {
    const { db } = createDatabase({ url: testDb.url, poolSize: 1 });
    const lock = new AdvisoryLock(testDb.url, 'liveness-test', 'notify-liveness-test');
    try {
      const { rows } = await sql<{ port: number }>`SELECT inet_client_port() AS port`.execute(db);
      const pooled = keepaliveTimer(rows[0].port);
      assert.ok(pooled !== null, 'the pooled connection has no keepalive timer');
      assert.ok(pooled <= 10 * 100, `first probe in ${pooled / 100} s`);

      assert.equal(await lock.tryAcquire(), true);
      const [session] = await testDb.query<{ port: number }>(
        `SELECT client_port AS port FROM pg_stat_activity WHERE application_name = 'notify-liveness-test'`,
      );
      const locking = keepaliveTimer(session.port);
      assert.ok(locking !== null, 'the advisory lock’s connection has no keepalive timer');
      assert.ok(locking <= 10 * 100, `first probe in ${locking / 100} s`);
    } finally {
      await lock.release();
      await db.destroy();
    }
  });
});
