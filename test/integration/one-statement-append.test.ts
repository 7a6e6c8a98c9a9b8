import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Client, type Pool } from 'pg';
import {
  ChannelsRepository,
  createDatabase,
  migrateToLatest,
  NotificationsRepository,
  PreferencesRepository,
  type Database,
  type Db,
} from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const APP = 'notify-one-statement-test';

/**
 * An append is first tried as one statement with no explicit transaction: these check that it is one
 * round trip, that it gives way to the transaction whenever the transaction's guarantees are needed,
 * and that it leaves its connection as it found it.
 */
describe('the append in one statement (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Db;
  let pool: Pool;
  let statements: string[];
  let notifications: NotificationsRepository;
  let channels: ChannelsRepository;
  before(async () => {
    testDb = await createTestDatabase();
    ({ db, pool } = createDatabase({ url: testDb.url, poolSize: 1, applicationName: APP }));
    await migrateToLatest(db);
    statements = [];
    const logged = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => void statements.push(event.query.sql.trim().slice(0, 40).toLowerCase()),
    });
    notifications = new NotificationsRepository(logged);
    channels = new ChannelsRepository(logged);
  });
  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  const transactional = (): boolean => statements.some((q) => q === 'begin' || q === 'commit');

  it('writes a batch as one statement, numbered as ever', async () => {
    statements.length = 0;
    const [a] = await notifications.append([{ userId: 'lone', topic: 't', idempotencyKey: 'k1' }]);
    const batch = await notifications.append([
      { userId: 'lone', topic: 't' },
      { userId: 'other', topic: 't', idempotencyKey: 'k1' },
      { userId: 'lone', topic: 't', idempotencyKey: 'k2' },
    ]);
    assert.equal(statements.length, 2, statements.join('\n'));
    assert.equal(transactional(), false, statements.join('\n'));
    assert.deepEqual(
      [a, ...batch].map((r) => [r.userId, r.seq, r.duplicate]),
      [
        ['lone', 1, false],
        ['lone', 2, false],
        ['other', 1, false],
        ['lone', 3, false],
      ],
    );
    const [m] = await channels.appendMany([{ channel: 'public.lone', data: { n: 1 } }]);
    assert.equal(m.offset, 1);
    assert.equal(transactional(), false);
  });

  it('numbers batches written at once for the same user without gaps, waiting or giving way', async () => {
    // Six connections: each statement waits for the one before it on the user's row, and one that
    // would wait past the lock timeout goes again in a transaction; either way the seqs hold.
    const wide = createDatabase({ url: testDb.url, poolSize: 6, applicationName: APP });
    const hot = new NotificationsRepository(wide.db);
    const batches = await Promise.all(
      Array.from({ length: 6 }, (_, b) =>
        hot.append(Array.from({ length: 20 }, (_, i) => ({ userId: 'hot', topic: `b${b}.${i}` }))),
      ),
    ).finally(() => wide.db.destroy());
    const seqs = batches.flat().map((r) => r.seq);
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: 120 }, (_, i) => i + 1),
    );
    for (const batch of batches)
      assert.deepEqual(
        batch.map((r) => r.seq),
        Array.from({ length: 20 }, (_, i) => batch[0].seq + i),
        'a batch holds consecutive seqs, in input order',
      );
  });

  it('leaves the session lock timeout as it was', async () => {
    await sql`SET lock_timeout = '7s'`.execute(db);
    await notifications.append([{ userId: 'timeout', topic: 't' }]);
    const { rows } = await sql<{ lock_timeout: string }>`SHOW lock_timeout`.execute(db);
    assert.equal(rows[0].lock_timeout, '7s');
    await sql`RESET lock_timeout`.execute(db);
  });

  it('answers a stored key through the transaction, with the stored result and no gap', async () => {
    const [first] = await notifications.append([{ userId: 'again', topic: 't', idempotencyKey: 'x' }]);
    statements.length = 0;
    const [retry] = await notifications.append([{ userId: 'again', topic: 't', idempotencyKey: 'x' }]);
    assert.deepEqual([retry.duplicate, retry.id, retry.seq], [true, first.id, first.seq]);
    assert.ok(transactional(), statements.join('\n'));
    assert.ok(
      statements.some((q) => q.includes('with expired as')),
      'the transaction looked the key up',
    );
    const [next] = await notifications.append([{ userId: 'again', topic: 't' }]);
    assert.equal(next.seq, first.seq + 1, 'the refused statement left no gap');
  });

  it('gives a batch whose user has preferences to the transaction, which flags it silent', async () => {
    await new PreferencesRepository(db).set('prefs', { mutedTopics: ['muted.*'], quietHours: null });
    statements.length = 0;
    const [r] = await notifications.append([{ userId: 'prefs', topic: 'muted.topic' }]);
    assert.equal(r.notification?.silent, true);
    assert.ok(transactional(), statements.join('\n'));
    const rows = await testDb.query<{ silent: boolean; seq: number }>(
      `SELECT silent, seq::int FROM notifications WHERE user_id = 'prefs'`,
    );
    assert.deepEqual(rows, [{ silent: true, seq: 1 }]);
  });

  it('waits only milliseconds for a row lock, then in a transaction that commits nothing if its process dies', async () => {
    await notifications.append([{ userId: 'locked', topic: 't' }]);
    const locker = new Client({ connectionString: testDb.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT * FROM user_streams WHERE user_id = 'locked' FOR UPDATE`);
      statements.length = 0;
      const attempt = notifications.append([{ userId: 'locked', topic: 'lost' }]).then(
        () => 'stored',
        () => 'failed',
      );
      // Past the lock timeout the statement gives way: the transaction's BEGIN follows it.
      for (let i = 0; i < 100 && !transactional(); i++) await sleep(20);
      assert.ok(transactional(), statements.join('\n'));
      let waiting = 0;
      for (let i = 0; i < 100 && waiting === 0; i++) {
        const rows = await testDb.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [APP],
        );
        waiting = rows[0].n;
        if (waiting === 0) await sleep(20);
      }
      assert.equal(waiting, 1, 'the transaction waits for the lock');
      // The writing process dies: its connection drops while the statement waits.
      const clients = (pool as unknown as { _clients: { connection: { stream: { destroy(): void } } }[] })
        ._clients;
      for (const c of clients) c.connection.stream.destroy();
      assert.equal(await attempt, 'failed');
      await sleep(100);
      await locker.query('ROLLBACK');
      await sleep(200);
      const rows = await testDb.query<{ topic: string }>(
        `SELECT topic FROM notifications WHERE user_id = 'locked' ORDER BY seq`,
      );
      assert.deepEqual(
        rows.map((r) => r.topic),
        ['t'],
        'nothing the producer was not told about',
      );
    } finally {
      await locker.end();
    }
    const [next] = await notifications.append([{ userId: 'locked', topic: 'after' }]);
    assert.equal(next.seq, 2, 'a new connection writes on, without a gap');
  });
});
