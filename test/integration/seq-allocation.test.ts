import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, migrateToLatest, NotificationsRepository, type Db } from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';

describe('per-user seq allocation (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Db;
  let repo: NotificationsRepository;
  before(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ url: testDb.url, poolSize: 25 }).db;
    await migrateToLatest(db);
    repo = new NotificationsRepository(db);
  });
  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  it('gives 50 concurrent producers to one user seqs 1..N, no gap, no duplicate', async () => {
    const PRODUCERS = 50;
    const EACH = 8;
    const returned: number[] = [];
    await Promise.all(
      Array.from({ length: PRODUCERS }, async (_, p) => {
        for (let i = 0; i < EACH; i++) {
          const [result] = await repo.append([{ userId: 'hot-user', topic: `p${p}.n${i}` }]);
          returned.push(result.seq);
        }
      }),
    );
    const n = PRODUCERS * EACH;
    assert.deepEqual(
      [...returned].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i + 1),
    );
    const stored = await testDb.query<{ seq: number }>(
      `SELECT seq::int FROM notifications WHERE user_id = 'hot-user' ORDER BY seq`,
    );
    assert.deepEqual(
      stored.map((r) => r.seq),
      Array.from({ length: n }, (_, i) => i + 1),
    );
    const [state] = await repo.sessionStates([{ userId: 'hot-user', deviceId: 'any-device' }]);
    assert.equal(state.lastSeq, n);
  });

  it('numbers overlapping multi-user batches without deadlock or gaps', async () => {
    const users = ['u-a', 'u-b', 'u-c', 'u-d'];
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        // Each batch names the users in a different order, the case that deadlocks without ordered locking.
        const order = i % 2 ? [...users].reverse() : users;
        return repo.append(order.map((userId) => ({ userId, topic: 'batch' })));
      }),
    );
    for (const userId of users) {
      const stored = await testDb.query<{ seq: number }>(
        'SELECT seq::int FROM notifications WHERE user_id = $1 ORDER BY seq',
        [userId],
      );
      assert.deepEqual(
        stored.map((r) => r.seq),
        Array.from({ length: 30 }, (_, i) => i + 1),
        userId,
      );
    }
  });

  it('stores an idempotency key once under concurrent retries and returns the first result', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        repo.append([{ userId: 'idem-user', topic: 'once', idempotencyKey: 'key-1' }]),
      ),
    );
    const firsts = results.map(([r]) => r);
    assert.equal(new Set(firsts.map((r) => r.id)).size, 1);
    assert.equal(firsts.filter((r) => !r.duplicate).length, 1);
    const stored = await testDb.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications WHERE user_id = 'idem-user'`,
    );
    assert.equal(stored[0].n, 1);
  });

  it('forgets an idempotency key after 24 hours', async () => {
    const [first] = await repo.append([{ userId: 'old-key-user', topic: 't', idempotencyKey: 'k' }]);
    await testDb.query(
      `UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'k'`,
    );
    const [second] = await repo.append([{ userId: 'old-key-user', topic: 't', idempotencyKey: 'k' }]);
    assert.equal(second.duplicate, false);
    assert.notEqual(second.id, first.id);
    assert.equal(second.seq, 2);
  });

  it('replays only unexpired notifications after a seq', async () => {
    await repo.append([
      { userId: 'ttl-user', topic: 'a' },
      { userId: 'ttl-user', topic: 'b', expiresAt: new Date(Date.now() - 1000) },
      { userId: 'ttl-user', topic: 'c' },
    ]);
    const [rows] = await repo.listAfterMany([{ userId: 'ttl-user', afterSeq: 0 }], 10);
    assert.deepEqual(
      rows.map((r) => [r.seq, r.topic]),
      [
        [1, 'a'],
        [3, 'c'],
      ],
    );
    const [state] = await repo.sessionStates([{ userId: 'ttl-user', deviceId: 'any-device' }]);
    assert.equal(state.unread, 2);
  });
});
