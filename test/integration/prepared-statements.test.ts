import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createDatabase, migrateToLatest, NotificationsRepository, PREPARED, type Db } from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';

/** One pooled connection, so that every statement below runs on the connection it asks about. */
describe('prepared statements on the append path (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Db;
  let repo: NotificationsRepository;
  const prepared = async (): Promise<string[]> =>
    (
      await sql<{
        statement: string;
      }>`SELECT statement FROM pg_prepared_statements ORDER BY statement`.execute(db)
    ).rows.map((r) => r.statement);

  before(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ url: testDb.url, poolSize: 1 }).db;
    await migrateToLatest(db);
    repo = new NotificationsRepository(db);
  });
  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  it('prepares a marked statement once per connection and leaves unmarked ones unnamed', async () => {
    for (let i = 0; i < 3; i++) {
      const { rows } = await sql<{ x: number }>`${sql.raw(PREPARED)} SELECT ${i}::int AS x`.execute(db);
      assert.equal(rows[0].x, i, 'each run gets its own parameters');
      await sql`SELECT ${i}::int AS unmarked`.execute(db);
    }
    const statements = await prepared();
    assert.equal(statements.filter((s) => s.includes('AS x')).length, 1);
    assert.ok(!statements.some((s) => s.includes('unmarked')));
  });

  it('runs the append (numbering insert and key lookup) as prepared statements', async () => {
    const [first] = await repo.append([{ userId: 'u1', topic: 't', title: 'one', idempotencyKey: 'k1' }]);
    // A retry: the only case in which the key lookup runs (the first attempt of a new key skips it).
    const [retry] = await repo.append([{ userId: 'u1', topic: 't', title: 'one', idempotencyKey: 'k1' }]);
    assert.deepEqual([first.seq, retry.seq, retry.duplicate], [1, 1, true]);
    const statements = await prepared();
    assert.ok(statements.some((s) => s.startsWith(PREPARED) && s.includes('alloc AS (')));
    assert.ok(statements.some((s) => s.startsWith(PREPARED) && s.includes('WITH expired AS')));
  });

  it('numbers batches of every shape, in a transaction or not, with one statement text', async () => {
    const before = (await prepared()).filter((s) => s.includes('alloc AS (')).length;
    const single = await repo.append([{ userId: 'shape-a', topic: 't', title: 'one' }]);
    const mixed = await repo.append([
      { userId: 'shape-b', topic: 't', title: 'b1', idempotencyKey: 'shape-k1' },
      { userId: 'shape-a', topic: 't', title: 'a2', body: 'with a body', data: { n: 1 } },
      {
        userId: 'shape-b',
        topic: 't',
        title: 'b2',
        idempotencyKey: 'shape-k2',
        expiresAt: new Date('2099-01-01T00:00:00Z'),
      },
    ]);
    // A stored key sends the batch through the transaction: the same text, from another executor.
    const retried = await repo.append([
      { userId: 'shape-b', topic: 't', title: 'b1', idempotencyKey: 'shape-k1' },
      { userId: 'shape-a', topic: 't', title: 'a3' },
    ]);
    assert.deepEqual(
      [...single, ...mixed, ...retried].map((r) => [r.userId, r.seq, r.duplicate]),
      [
        ['shape-a', 1, false],
        ['shape-b', 1, false],
        ['shape-a', 2, false],
        ['shape-b', 2, false],
        ['shape-b', 1, true],
        ['shape-a', 3, false],
      ],
    );
    const stored = mixed[1].notification;
    assert.deepEqual([stored?.body, stored?.data], ['with a body', { n: 1 }]);
    assert.equal(mixed[2].notification?.expiresAt?.toISOString(), '2099-01-01T00:00:00.000Z');
    const after = (await prepared()).filter((s) => s.includes('alloc AS (')).length;
    assert.equal(after, Math.max(before, 1), 'one numbering statement on the connection');
  });

  it('still answers a retry with the stored notification after a migration adds a column', async () => {
    const [stored] = await repo.append([
      { userId: 'u2', topic: 't', title: 'kept', idempotencyKey: 'again' },
    ]);
    // The connection keeps its prepared statements across this: a statement returning the events
    // table's columns would now fail with "cached plan must not change result type".
    await sql`ALTER TABLE notifications ADD COLUMN added_later text`.execute(db);
    try {
      const [retry] = await repo.append([
        { userId: 'u2', topic: 't', title: 'kept', idempotencyKey: 'again' },
      ]);
      assert.equal(retry.duplicate, true);
      assert.equal(retry.id, stored.id);
      assert.equal(retry.notification?.title, 'kept');
      const [next] = await repo.append([{ userId: 'u2', topic: 't', title: 'new', idempotencyKey: 'other' }]);
      assert.equal(next.seq, stored.seq + 1);
    } finally {
      await sql`ALTER TABLE notifications DROP COLUMN added_later`.execute(db);
    }
  });
});
