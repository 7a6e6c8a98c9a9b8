import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdvisoryLock,
  ChannelOccupancyRepository,
  createDatabase,
  migrateToLatest,
  PresenceRepository,
  UserConnectionsRepository,
  type Db,
} from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';

const TTL_MS = 5000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What ingest's webhook sources read, and the lock that makes one of them the reader (real PostgreSQL). */
describe('webhook sources: reads and advisory lock', () => {
  let testDb: TestDatabase;
  let db: Db;
  before(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ url: testDb.url, poolSize: 4 }).db;
    await migrateToLatest(db);
  });
  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  it('lists the presence memberships of an app once per (channel, user), live nodes only, bounded', async () => {
    const presence = new PresenceRepository(db);
    await presence.register('a', 'a#1', [
      { channel: 'pusher:1:presence-r', userId: 'u1', connections: 2 },
      { channel: 'pusher:1:presence-r', userId: 'u2', connections: 1 },
      { channel: 'pusher:10:presence-r', userId: 'u9', connections: 1 },
    ]);
    await presence.register('b', 'b#1', [{ channel: 'pusher:1:presence-r', userId: 'u1', connections: 1 }]);
    assert.deepEqual(await presence.membersByPrefix('pusher:1:', TTL_MS, 100), [
      { channel: 'pusher:1:presence-r', userId: 'u1' },
      { channel: 'pusher:1:presence-r', userId: 'u2' },
    ]);
    assert.equal((await presence.membersByPrefix('pusher:1:', TTL_MS, 1)).length, 1);
    await testDb.query(
      `UPDATE presence_nodes SET heartbeat_at = now() - interval '1 hour' WHERE node_key = 'a#1'`,
    );
    assert.deepEqual(await presence.membersByPrefix('pusher:1:', TTL_MS, 100), [
      { channel: 'pusher:1:presence-r', userId: 'u1' },
    ]);
  });

  it('bounds the occupied channels read', async () => {
    await new UserConnectionsRepository(db).heartbeat('n', TTL_MS);
    const occupancy = new ChannelOccupancyRepository(db);
    await occupancy.apply('n', [
      { channel: 'pusher:2:a', subscriptions: 1 },
      { channel: 'pusher:2:b', subscriptions: 2 },
    ]);
    assert.equal((await occupancy.occupied('pusher:2:', TTL_MS)).length, 2);
    assert.deepEqual(await occupancy.occupied('pusher:2:', TTL_MS, 1), [
      { channel: 'pusher:2:a', subscriptions: 1 },
    ]);
  });

  it('lets one holder at a time take the lock, and the next take over on release or a lost connection', async () => {
    const first = new AdvisoryLock(testDb.url, 'test-lock', 'lock-first');
    const second = new AdvisoryLock(testDb.url, 'test-lock', 'lock-second');
    try {
      assert.equal(await first.tryAcquire(), true);
      assert.equal(await second.tryAcquire(), false);
      assert.equal(await first.tryAcquire(), true, 'taking it again while held is a no-op');
      await first.release();
      assert.equal(first.held, false);
      assert.equal(await second.tryAcquire(), true);

      await testDb.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lock-second'`,
      );
      for (let i = 0; i < 100 && second.held; i++) await sleep(20);
      assert.equal(second.held, false, 'a lost connection is a lost lock');
      assert.equal(await first.tryAcquire(), true);
      assert.equal(await second.tryAcquire(), false, 'reconnects, and finds it taken');
    } finally {
      await first.release();
      await second.release();
    }
  });
});
