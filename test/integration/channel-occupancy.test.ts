import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChannelOccupancyRepository,
  createDatabase,
  migrateToLatest,
  UserConnectionsRepository,
  type Db,
} from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';

const TTL_MS = 5000;

describe('channel occupancy per node (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Db;
  let occupancy: ChannelOccupancyRepository;
  let nodes: UserConnectionsRepository;
  before(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ url: testDb.url, poolSize: 4 }).db;
    await migrateToLatest(db);
    occupancy = new ChannelOccupancyRepository(db);
    nodes = new UserConnectionsRepository(db);
  });
  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  const rowsOf = async (nodeId: string): Promise<Record<string, number>> =>
    Object.fromEntries(
      (
        await testDb.query<{ channel: string; subscriptions: number }>(
          'SELECT channel, subscriptions FROM channel_occupancy WHERE node_id = $1',
          [nodeId],
        )
      ).map((r) => [r.channel, r.subscriptions]),
    );

  it('sums live nodes per channel, by prefix, and deletes a row at 0', async () => {
    await nodes.heartbeat('a', TTL_MS);
    await nodes.heartbeat('b', TTL_MS);
    await occupancy.apply('a', [
      { channel: 'pusher:1:presence-room', subscriptions: 2 },
      { channel: 'pusher:1:news', subscriptions: 1 },
      { channel: 'pusher:10:news', subscriptions: 7 },
      { channel: 'pusher:1:a_b', subscriptions: 1 },
    ]);
    await occupancy.apply('b', [
      { channel: 'pusher:1:presence-room', subscriptions: 3 },
      { channel: 'pusher:1:axb', subscriptions: 1 },
    ]);
    assert.deepEqual(await occupancy.occupied('pusher:1:', TTL_MS), [
      { channel: 'pusher:1:a_b', subscriptions: 1 },
      { channel: 'pusher:1:axb', subscriptions: 1 },
      { channel: 'pusher:1:news', subscriptions: 1 },
      { channel: 'pusher:1:presence-room', subscriptions: 5 },
    ]);
    // `_` in a prefix is a character, not a LIKE wildcard.
    assert.deepEqual(await occupancy.occupied('pusher:1:a_', TTL_MS), [
      { channel: 'pusher:1:a_b', subscriptions: 1 },
    ]);
    assert.equal(await occupancy.subscriptions('pusher:1:presence-room', TTL_MS), 5);

    // An update replaces the count, 0 deletes the row, and the last count of a channel in one call wins.
    await occupancy.apply('a', [
      { channel: 'pusher:1:presence-room', subscriptions: 4 },
      { channel: 'pusher:1:news', subscriptions: 0 },
      { channel: 'pusher:1:a_b', subscriptions: 5 },
      { channel: 'pusher:1:a_b', subscriptions: 0 },
    ]);
    assert.deepEqual(await rowsOf('a'), { 'pusher:1:presence-room': 4, 'pusher:10:news': 7 });
    assert.equal(await occupancy.subscriptions('pusher:1:presence-room', TTL_MS), 7);
    assert.equal(await occupancy.subscriptions('pusher:1:news', TTL_MS), 0);
    await assert.rejects(occupancy.apply('a', [{ channel: 'x', subscriptions: -1 }]), RangeError);
  });

  it('counts only nodes whose heartbeat is younger than the TTL, and writes nothing for a dead node', async () => {
    await nodes.heartbeat('old', TTL_MS);
    await occupancy.apply('old', [{ channel: 'pusher:2:c', subscriptions: 4 }]);
    await nodes.heartbeat('new', TTL_MS);
    await occupancy.apply('new', [{ channel: 'pusher:2:c', subscriptions: 1 }]);
    assert.equal(await occupancy.subscriptions('pusher:2:c', TTL_MS), 5);
    await testDb.query(
      `UPDATE gateway_nodes SET heartbeat_at = now() - interval '6 seconds' WHERE node_id = 'old'`,
    );
    assert.equal(await occupancy.subscriptions('pusher:2:c', TTL_MS), 1);
    assert.deepEqual(await occupancy.occupied('pusher:2:', TTL_MS), [
      { channel: 'pusher:2:c', subscriptions: 1 },
    ]);

    // Another node's heartbeat deletes the dead node, and its rows go with it.
    await nodes.heartbeat('new', TTL_MS);
    assert.deepEqual(await rowsOf('old'), {});
    await occupancy.apply('old', [{ channel: 'pusher:2:c', subscriptions: 9 }]);
    assert.deepEqual(await rowsOf('old'), {}, 'no rows without a gateway_nodes row');
  });

  it('replaceNode makes a node’s rows exactly the given set', async () => {
    await nodes.heartbeat('r', TTL_MS);
    await occupancy.apply('r', [
      { channel: 'pusher:3:x', subscriptions: 1 },
      { channel: 'pusher:3:y', subscriptions: 2 },
    ]);
    await occupancy.replaceNode('r', [{ channel: 'pusher:3:z', subscriptions: 3 }]);
    assert.deepEqual(await rowsOf('r'), { 'pusher:3:z': 3 });
    await occupancy.replaceNode('r', []);
    assert.deepEqual(await rowsOf('r'), {});
  });
});
