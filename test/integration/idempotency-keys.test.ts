import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, PostgresDialect } from 'kysely';
import type { Pool } from 'pg';
import {
  ChannelsRepository,
  createDatabase,
  migrateToLatest,
  NotificationsRepository,
  type Database,
  type Db,
} from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';

/**
 * The append's first attempt assumes every key is new and rolls back whole when one is not; these
 * check what producers see: a retry gets the stored result, numbers stay gapless, keys are forgotten
 * after their window, and concurrent writers of one key store it once.
 */
describe('idempotency keys on the append (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Db;
  let notifications: NotificationsRepository;
  let channels: ChannelsRepository;
  let pool: Pool;
  before(async () => {
    testDb = await createTestDatabase();
    ({ db, pool } = createDatabase({ url: testDb.url, poolSize: 10 }));
    await migrateToLatest(db);
    notifications = new NotificationsRepository(db);
    channels = new ChannelsRepository(db);
  });
  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  it('answers a retry with the stored notification, and the next one takes the next seq', async () => {
    const [first] = await notifications.append([
      { userId: 'retry', topic: 't', title: 'one', idempotencyKey: 'k' },
    ]);
    const [again] = await notifications.append([
      { userId: 'retry', topic: 't', title: 'other', idempotencyKey: 'k' },
    ]);
    assert.equal(again.duplicate, true);
    assert.deepEqual([again.id, again.seq, again.notification?.title], [first.id, first.seq, 'one']);
    const [next] = await notifications.append([{ userId: 'retry', topic: 't', idempotencyKey: 'k2' }]);
    assert.equal(next.seq, first.seq + 1, 'the rolled-back attempt left no gap');
    const rows = await testDb.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications WHERE user_id = 'retry'`,
    );
    assert.equal(rows[0].n, 2);
  });

  it('resolves a batch mixing a stored key, a new key, a repeat of it and no key', async () => {
    const [stored] = await notifications.append([{ userId: 'mix', topic: 't', idempotencyKey: 'old' }]);
    const results = await notifications.append([
      { userId: 'mix', topic: 't', idempotencyKey: 'new' },
      { userId: 'mix', topic: 't', idempotencyKey: 'old' },
      { userId: 'mix', topic: 't' },
      { userId: 'mix', topic: 't', idempotencyKey: 'new' },
    ]);
    assert.deepEqual(
      results.map((r) => [r.seq, r.duplicate]),
      [
        [2, false],
        [stored.seq, true],
        [3, false],
        [2, true],
      ],
    );
  });

  it('forgets a key past its window: the producer may reuse it', async () => {
    const [first] = await notifications.append([{ userId: 'window', topic: 't', idempotencyKey: 'reused' }]);
    await testDb.query(
      `UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = 'window'`,
    );
    const [second] = await notifications.append([{ userId: 'window', topic: 't', idempotencyKey: 'reused' }]);
    assert.equal(second.duplicate, false);
    assert.equal(second.seq, first.seq + 1);
    assert.notEqual(second.id, first.id);
  });

  it('stores one key written by 20 concurrent writers once, and every writer gets that result', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        notifications.append([{ userId: 'race', topic: 't', title: `writer ${i}`, idempotencyKey: 'same' }]),
      ),
    );
    const ids = new Set(results.map(([r]) => r.id));
    assert.equal(ids.size, 1);
    assert.equal(results.filter(([r]) => !r.duplicate).length, 1);
    const [next] = await notifications.append([{ userId: 'race', topic: 't' }]);
    assert.equal(next.seq, 2, 'seqs stay gapless');
  });

  it('does the same for channel messages', async () => {
    const [first] = await channels.appendMany([
      { channel: 'public.keys', data: { n: 1 }, idempotencyKey: 'c' },
    ]);
    const [again] = await channels.appendMany([
      { channel: 'public.keys', data: { n: 2 }, idempotencyKey: 'c' },
    ]);
    assert.equal(again.duplicate, true);
    assert.equal(again.offset, first.offset);
    const [next] = await channels.appendMany([{ channel: 'public.keys', data: { n: 3 } }]);
    assert.equal(next.offset, first.offset + 1);
  });

  it('sends no key lookup for a new key, and one for a retry', async () => {
    const statements: string[] = [];
    const logged = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => void statements.push(event.query.sql),
    });
    const repository = new NotificationsRepository(logged);
    await repository.append([{ userId: 'fast', topic: 't', idempotencyKey: 'fresh' }]);
    const lookups = (): number => statements.filter((q) => q.includes('WITH expired AS')).length;
    assert.equal(lookups(), 0, statements.join('\n---\n'));
    const [retry] = await repository.append([{ userId: 'fast', topic: 't', idempotencyKey: 'fresh' }]);
    assert.equal(retry.duplicate, true);
    assert.equal(lookups(), 1);
  });
});
