import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createDatabase,
  InboxRepository,
  migrateToLatest,
  NotificationsRepository,
  ReceiptsRepository,
  runRetention,
  type Db,
} from '@notify/store';
import { createTestDatabase, type TestDatabase } from '@notify/testing';

const WINDOW = { maxMessages: 1000, maxAgeSeconds: 86_400 };

describe('retention of read notifications (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Db;
  before(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ url: testDb.url, poolSize: 2 }).db;
    await migrateToLatest(db);
  });
  after(async () => {
    await db?.destroy();
    await testDb?.drop();
  });

  it('deletes read notifications past the age, keeps unread and recently read ones, and nothing at 0', async () => {
    const stored = await new NotificationsRepository(db).append(
      [1, 2, 3, 4].map((i) => ({ userId: 'reader', topic: `t.${i}` })),
    );
    const [oldRead, recentRead] = stored.map((r) => r.id);
    await new InboxRepository(db).markRead('reader', { ids: [oldRead, recentRead] });
    await testDb.query(`UPDATE notifications SET read_at = now() - interval '40 days' WHERE id = $1`, [
      oldRead,
    ]);
    await testDb.query(`UPDATE notifications SET read_at = now() - interval '2 days' WHERE id = $1`, [
      recentRead,
    ]);

    const keepAll = await runRetention(db, { channelWindow: WINDOW, readNotificationDays: 0 });
    assert.equal(keepAll.readNotifications, 0);
    const month = await runRetention(db, { channelWindow: WINDOW, readNotificationDays: 30 });
    assert.deepEqual([month.ran, month.readNotifications], [true, 1]);
    const left = await testDb.query<{ seq: number }>(
      `SELECT seq::int FROM notifications WHERE user_id = 'reader' ORDER BY seq`,
    );
    assert.deepEqual(
      left.map((r) => r.seq),
      [2, 3, 4],
      'the old read one went; the recent read one and the unread ones stay',
    );
    // Only read rows are indexed for it, so a retention pass never scans the unread ones.
    const index = await testDb.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE indexname = 'notifications_read_at'`,
    );
    assert.match(index[0]?.indexdef ?? '', /\(read_at\) WHERE \(read_at IS NOT NULL\)/);
  });

  it('deletes delivery receipts past their age and keeps the recent ones', async () => {
    const receipts = new ReceiptsRepository(db);
    const range = { from: 1, to: 3, at: new Date() };
    await receipts.record([
      { userId: 'r', deviceId: 'old', delivered: range, acked: null },
      { userId: 'r', deviceId: 'new', delivered: range, acked: range },
    ]);
    await testDb.query(
      `UPDATE delivery_receipts SET recorded_at = now() - interval '8 days' WHERE device_id = 'old'`,
    );
    const result = await runRetention(db, { channelWindow: WINDOW, readNotificationDays: 0, receiptDays: 7 });
    assert.equal(result.receipts, 1);
    assert.deepEqual(
      (await receipts.of('r', 2)).map((d) => d.deviceId),
      ['new'],
    );
  });
});
