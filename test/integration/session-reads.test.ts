import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createDatabase,
  CursorsRepository,
  migrateToLatest,
  NotificationsRepository,
  type Db,
} from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';
import { SessionReads } from '../../services/gateway/src/core/user-stream/session-reads';

describe('batched session reads (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Db;
  let repo: NotificationsRepository;
  before(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ url: testDb.url, poolSize: 4 }).db;
    await migrateToLatest(db);
    repo = new NotificationsRepository(db);
    await repo.append([
      { userId: 'ann', topic: 'a1' },
      { userId: 'ann', topic: 'a2', expiresAt: new Date(Date.now() - 1000) },
      { userId: 'ann', topic: 'a3' },
      { userId: 'bob', topic: 'b1' },
    ]);
    await new CursorsRepository(db).advance([{ userId: 'ann', deviceId: 'phone', ackedSeq: 1 }]);
  });
  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  it('answers many sockets in one query, each its own state, in input order', async () => {
    const noPreferences = { preferences: null, preferencesVersion: 0 };
    const states = await repo.sessionStates([
      { userId: 'nobody', deviceId: 'x' },
      { userId: 'ann', deviceId: 'phone' },
      { userId: 'ann', deviceId: 'laptop' },
      { userId: 'bob', deviceId: 'phone' },
    ]);
    assert.deepEqual(states, [
      { lastSeq: 0, unread: 0, readVersion: 0, cursor: null, connectionsElsewhere: 0, ...noPreferences },
      { lastSeq: 3, unread: 2, readVersion: 0, cursor: 1, connectionsElsewhere: 0, ...noPreferences },
      { lastSeq: 3, unread: 2, readVersion: 0, cursor: null, connectionsElsewhere: 0, ...noPreferences },
      { lastSeq: 1, unread: 1, readVersion: 0, cursor: null, connectionsElsewhere: 0, ...noPreferences },
    ]);
    assert.deepEqual(await repo.sessionStates([]), []);
  });

  it('reads each socket’s page after its own seq, unexpired only, and at most the limit', async () => {
    const pages = await repo.listAfterMany(
      [
        { userId: 'ann', afterSeq: 0 },
        { userId: 'bob', afterSeq: 1 },
        { userId: 'ann', afterSeq: 1 },
        { userId: 'bob', afterSeq: 0 },
      ],
      1,
    );
    assert.deepEqual(
      pages.map((page) => page.map((n) => `${n.userId}:${n.seq}:${n.topic}`)),
      [['ann:1:a1'], [], ['ann:3:a3'], ['bob:1:b1']],
    );
  });

  it('shares queries between concurrent sockets and gives each its own answer', async () => {
    const reads = new SessionReads(repo);
    const users = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? 'ann' : i % 3 === 1 ? 'bob' : `new-${i}`,
    );
    let queries = 0;
    const counted = (original: typeof repo.sessionStates) =>
      ((keys) => {
        queries++;
        return original.call(repo, keys);
      }) as typeof repo.sessionStates;
    const sessionStates = repo.sessionStates;
    repo.sessionStates = counted(sessionStates);
    try {
      const states = await Promise.all(users.map((u) => reads.state(u, 'phone')));
      assert.deepEqual(
        states.map((s) => s.lastSeq),
        users.map((u) => (u === 'ann' ? 3 : u === 'bob' ? 1 : 0)),
      );
      assert.equal(states[0].cursor, 1, 'ann’s phone has acked seq 1');
      assert.ok(queries < 10, `${queries} queries for ${users.length} sockets`);
    } finally {
      repo.sessionStates = sessionStates;
    }
    const pages = await Promise.all(users.map((u) => reads.after(u, 0)));
    assert.deepEqual(
      pages.map((p) => p.map((n) => n.seq)),
      users.map((u) => (u === 'ann' ? [1, 3] : u === 'bob' ? [1] : [])),
    );
  });
});
