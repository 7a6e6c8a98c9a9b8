import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  createDatabase,
  migrateToLatest,
  NotificationsRepository,
  UserConnectionsRepository,
  type Db,
  type UserConnectionRow,
} from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';

const TTL_MS = 5000;
const row = (userId: string, deviceId = 'd'): UserConnectionRow => ({
  connectionId: randomUUID(),
  userId,
  deviceId,
});

describe('connections of users on nodes (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Db;
  let connections: UserConnectionsRepository;
  let notifications: NotificationsRepository;
  before(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ url: testDb.url, poolSize: 4 }).db;
    await migrateToLatest(db);
    connections = new UserConnectionsRepository(db);
    notifications = new NotificationsRepository(db);
  });
  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  const elsewhere = async (nodeId: string, userIds: string[]): Promise<number[]> =>
    (
      await notifications.sessionStates(
        userIds.map((userId) => ({ userId, deviceId: 'd' })),
        { nodeId, nodeTtlMs: TTL_MS },
      )
    ).map((s) => s.connectionsElsewhere);
  const rowsOfNode = async (nodeId: string): Promise<number> =>
    Number(
      (
        await testDb.query<{ n: string }>('SELECT count(*) AS n FROM user_connections WHERE node_id = $1', [
          nodeId,
        ])
      )[0]?.n,
    );

  it('counts, in the session-state read, a user’s connections on the other live nodes only', async () => {
    assert.deepEqual(await connections.heartbeat('n1', TTL_MS), { wasAlive: false });
    assert.deepEqual(await connections.heartbeat('n1', TTL_MS), { wasAlive: true });
    await connections.heartbeat('n2', TTL_MS);
    await connections.heartbeat('n3', TTL_MS);
    const kept = row('ann');
    await connections.apply('n1', [row('ann')], []);
    await connections.apply('n2', [kept, row('ann'), row('bob')], []);
    await connections.apply('n3', [row('ann')], []);
    assert.deepEqual(await elsewhere('n1', ['ann', 'bob', 'cid']), [3, 1, 0]);
    assert.deepEqual(await elsewhere('n2', ['ann', 'bob']), [2, 0]);

    // n3 stops beating: its rows stop counting, and the next heartbeat of any node deletes them.
    await testDb.query(
      `UPDATE gateway_nodes SET heartbeat_at = now() - interval '1 minute' WHERE node_id = 'n3'`,
    );
    assert.deepEqual(await elsewhere('n1', ['ann']), [2]);
    assert.equal(await rowsOfNode('n3'), 1);
    await connections.heartbeat('n1', TTL_MS);
    assert.equal(await rowsOfNode('n3'), 0);
    // n3 comes back: it was declared dead, so it writes its set again.
    assert.deepEqual(await connections.heartbeat('n3', TTL_MS), { wasAlive: false });

    await connections.apply('n2', [], [kept.connectionId]);
    assert.deepEqual(await elsewhere('n1', ['ann']), [1]);
  });

  it('writes no row for a node that has no heartbeat row, and replaces or removes a node’s rows', async () => {
    await connections.apply('ghost', [row('ann')], []);
    assert.equal(await rowsOfNode('ghost'), 0);

    await connections.heartbeat('n4', TTL_MS);
    await connections.apply('n4', [row('dan'), row('dan')], []);
    await connections.replaceNode('n4', [row('eve')]);
    assert.deepEqual(await elsewhere('n1', ['dan', 'eve']), [0, 1]);
    await connections.leave('n4');
    assert.equal(await rowsOfNode('n4'), 0);
  });
});
