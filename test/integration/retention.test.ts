import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChannelsRepository,
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

describe('the retention job: read notifications, receipts, channel history (real PostgreSQL)', () => {
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

  it('trims channel history by age and by size together, and trimmedOffset marks where resumes stop being complete', async () => {
    const channels = new ChannelsRepository(db);
    // Offsets 1..n per channel, each channel appended on its own so its offsets follow input order.
    const sizes: Record<string, number> = { 'h.aged': 10, 'h.busy': 10, 'h.stale': 4, 'h.quiet': 3 };
    for (const [channel, n] of Object.entries(sizes)) {
      await channels.appendMany(Array.from({ length: n }, (_, i) => ({ channel, data: { n: i + 1 } })));
    }
    // Ages grow with the offset as they do in production. The window is an hour: "old" is two hours
    // (a minute apart, oldest first), "inside" is 50 minutes: margins no slow machine comes near.
    const age = (channel: string, upTo: number): Promise<unknown> =>
      testDb.query(
        `UPDATE channel_messages SET created_at = now() - interval '2 hours' + "offset" * interval '1 minute'
         WHERE channel = $1 AND "offset" <= $2`,
        [channel, upTo],
      );
    await age('h.aged', 7); // older than the window: 1..7; the size limit alone would keep 6..10
    await testDb.query(
      `UPDATE channel_messages SET created_at = now() - interval '50 minutes' WHERE channel = 'h.aged' AND "offset" = 8`,
    );
    await age('h.busy', 2); // the size limit binds: it drops 1..5, age only 1..2
    await age('h.stale', 2); // under the size limit: age alone drops 1..2
    // h.quiet: within both limits, nothing goes

    const window = { maxMessages: 5, maxAgeSeconds: 3600 };
    const result = await runRetention(db, { channelWindow: window, readNotificationDays: 0 });
    assert.deepEqual([result.ran, result.channelMessages], [true, 7 + 5 + 2]);

    const expected: Record<string, { kept: number[]; trimmedOffset: number }> = {
      'h.aged': { kept: [8, 9, 10], trimmedOffset: 7 },
      'h.busy': { kept: [6, 7, 8, 9, 10], trimmedOffset: 5 },
      'h.stale': { kept: [3, 4], trimmedOffset: 2 },
      'h.quiet': { kept: [1, 2, 3], trimmedOffset: 0 },
    };
    const range = (from: number, to: number): number[] =>
      Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
    for (const [channel, want] of Object.entries(expected)) {
      const kept = (await channels.listAfter(channel, 0, 100)).map((m) => m.offset);
      const state = await channels.state(channel);
      assert.deepEqual(
        { kept, ...state },
        { ...want, lastOffset: sizes[channel] },
        `${channel}: the newest ${window.maxMessages} no older than ${window.maxAgeSeconds} s`,
      );
      // The gateway answers `recovered: since >= trimmedOffset` and then replays listAfter(since):
      // that must hold exactly when the store still has every message after since.
      for (let since = 0; since <= state.lastOffset; since++) {
        const replay = (await channels.listAfter(channel, since, 100)).map((m) => m.offset);
        const complete = replay.join() === range(since + 1, state.lastOffset).join();
        assert.equal(
          since >= state.trimmedOffset,
          complete,
          `${channel} since ${since}: replays ${replay.join()}`,
        );
      }
    }

    // Another run finds nothing more, and the marks stay where they are.
    const again = await runRetention(db, { channelWindow: window, readNotificationDays: 0 });
    assert.equal(again.channelMessages, 0);
    assert.equal((await channels.state('h.aged')).trimmedOffset, 7);
  });
  it('trims in statements of a few rows each and ends with the same history as one pass', async () => {
    const channels = new ChannelsRepository(db);
    const sizes: Record<string, number> = { 'b.fresh': 20, 'b.old': 20, 'b.short': 8 };
    for (const [channel, n] of Object.entries(sizes)) {
      await channels.appendMany(Array.from({ length: n }, (_, i) => ({ channel, data: { n: i + 1 } })));
    }
    await testDb.query(
      `UPDATE channel_messages SET created_at = now() - interval '2 hours' + "offset" * interval '1 minute'
       WHERE channel = 'b.old' AND "offset" <= 17`,
    );
    // The previous test's channels keep at most 5 messages, none past the hour: this window spares them.
    const window = { maxMessages: 6, maxAgeSeconds: 3600 };
    const deleted = await channels.trim(window, 4);
    assert.equal(deleted, 14 + 17 + 2);
    for (const [channel, want] of Object.entries({
      'b.fresh': { first: 15, trimmedOffset: 14 },
      'b.old': { first: 18, trimmedOffset: 17 },
      'b.short': { first: 3, trimmedOffset: 2 },
    })) {
      const kept = (await channels.listAfter(channel, 0, 100)).map((m) => m.offset);
      const length = sizes[channel] - want.first + 1;
      assert.deepEqual(
        kept,
        Array.from({ length }, (_, i) => want.first + i),
        channel,
      );
      assert.equal((await channels.state(channel)).trimmedOffset, want.trimmedOffset, channel);
    }
    assert.equal(await channels.trim(window, 4), 0);
  });
});
