import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NotificationFrame } from '@notify/protocol';
import { signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('guaranteed delivery across three gateway nodes', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({
      gateways: 3,
      env: { NOTIFY_ACK_FLUSH_MS: '50', NOTIFY_RETENTION_INTERVAL_MS: '300' },
    });
  });
  after(async () => cluster?.stop());

  async function device(userId: string, node: number, query: string): Promise<TestClient> {
    const client = await TestClient.connect(cluster.wsUrl(node, query), {
      authorization: `Bearer ${await signToken(userId)}`,
    });
    await client.next('ready');
    return client;
  }

  async function seqs(client: TestClient, count: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push((await client.next('notification', 10_000)).seq);
    return out;
  }

  const range = (from: number, to: number): number[] =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('delivers every notification, in order, to each of a user’s devices on three nodes', async () => {
    const devices = await Promise.all([0, 1, 2].map((node) => device('multi', node, `device=d${node}`)));
    for (let i = 0; i < 20; i++)
      assert.equal((await cluster.post({ userId: 'multi', topic: `n.${i}` })).status, 202);
    for (const d of devices) assert.deepEqual(await seqs(d, 20), range(1, 20));
    await sleep(200);
    for (const d of devices) assert.deepEqual(d.all('notification'), [], 'no duplicates');
    await Promise.all(devices.map((d) => d.close()));
  });

  it('redelivers what a device did not ack on its next connection, on another node', async () => {
    const first = await device('roamer', 0, 'device=phone');
    for (let i = 0; i < 5; i++) await cluster.post({ userId: 'roamer', topic: 'r' });
    assert.deepEqual(await seqs(first, 5), range(1, 5));
    first.send({ type: 'ack', seq: 3 });
    await sleep(300); // > NOTIFY_ACK_FLUSH_MS
    await first.close();
    const cursor = await cluster.db.query<{ acked_seq: number }>(
      `SELECT acked_seq::int FROM device_cursors WHERE user_id = 'roamer' AND device_id = 'phone'`,
    );
    assert.equal(cursor[0].acked_seq, 3);
    for (let i = 0; i < 2; i++) await cluster.post({ userId: 'roamer', topic: 'offline' });

    const second = await TestClient.connect(cluster.wsUrl(1, 'device=phone'), {
      authorization: `Bearer ${await signToken('roamer')}`,
    });
    const ready = await second.next('ready');
    assert.equal(ready.lastSeq, 7);
    assert.equal(ready.node, cluster.nodeId(1));
    assert.deepEqual(await seqs(second, 4), [4, 5, 6, 7], 'un-acked 4 and 5 again, then what came meanwhile');
    // Live traffic continues after the replay without a gap.
    await cluster.post({ userId: 'roamer', topic: 'live' });
    assert.deepEqual(await seqs(second, 1), [8]);
    await second.close();
  });

  it('resumes after `since` when given, and live-only for a new device', async () => {
    for (let i = 0; i < 4; i++) await cluster.post({ userId: 'resumer', topic: 'x' });
    const withSince = await device('resumer', 2, 'device=tab&since=1');
    assert.deepEqual(await seqs(withSince, 3), [2, 3, 4]);
    const fresh = await device('resumer', 0, 'device=brand-new');
    await cluster.post({ userId: 'resumer', topic: 'x' });
    assert.deepEqual(await seqs(fresh, 1), [5], 'a device with no cursor and no since starts live');
    assert.deepEqual(await seqs(withSince, 1), [5]);
    await Promise.all([withSince.close(), fresh.close()]);
  });

  it('syncs read state to every device on every node, with the unread count', async () => {
    const devices = await Promise.all([0, 1, 2].map((node) => device('reader', node, `device=r${node}`)));
    const res = await cluster.post({ userIds: ['reader'], topic: 'a' });
    await cluster.post({ userId: 'reader', topic: 'b' });
    await cluster.post({ userId: 'reader', topic: 'c' });
    const firstId = (res.body as { results: { id: string }[] }).results[0].id;
    for (const d of devices) await seqs(d, 3);

    devices[0].send({ type: 'read', ids: [firstId], ref: 'mine' });
    for (const d of devices) {
      const read = await d.next('read');
      assert.equal(read.ref, d === devices[0] ? 'mine' : undefined, 'only the asking socket gets its ref');
      assert.deepEqual(read.ids, [firstId]);
      assert.equal(read.unread, 2);
      assert.equal(read.asOfSeq, 3);
    }
    devices[2].send({ type: 'read', upTo: 3 });
    for (const d of devices) {
      const read = await d.next('read');
      assert.equal(read.ids.length, 2);
      assert.equal(read.unread, 0);
    }
    // Marking again changes nothing: only the asking socket hears back, with its ref.
    devices[1].send({ type: 'read', upTo: 3, ref: 'again' });
    assert.deepEqual(await devices[1].next('read'), {
      type: 'read',
      ids: [],
      unread: 0,
      asOfSeq: 3,
      ref: 'again',
    });
    await sleep(200);
    assert.deepEqual(devices[0].all('read'), []);
    const fresh = await TestClient.connect(cluster.wsUrl(1, 'device=later'), {
      authorization: `Bearer ${await signToken('reader')}`,
    });
    assert.equal((await fresh.next('ready')).unread, 0, 'durable');
    devices[0].send({ type: 'read', ids: ['not-a-uuid'], ref: 'q' });
    assert.equal((await devices[0].next('error')).ref, 'q');
    devices[0].send({ type: 'read', ids: Array.from({ length: 257 }, () => firstId), ref: 'too-many' });
    assert.match((await devices[0].next('error')).message, /1 to 256/);
    await Promise.all([...devices, fresh].map((d) => d.close()));
  });

  it('pages the inbox newest first, with an unread filter', async () => {
    for (let i = 1; i <= 7; i++) await cluster.post({ userId: 'pager', topic: `t.${i}` });
    const client = await device('pager', 1, 'device=h');
    client.send({ type: 'read', upTo: 2 });
    await client.next('read');
    client.send({ type: 'history', limit: 3, ref: 'p1' });
    const page1 = await client.next('history');
    assert.equal(page1.ref, 'p1');
    assert.deepEqual(
      page1.items.map((n) => n.seq),
      [7, 6, 5],
    );
    assert.equal(page1.nextBefore, 5);
    client.send({ type: 'history', limit: 3, before: 5 });
    const page2 = await client.next('history');
    assert.deepEqual(
      page2.items.map((n) => n.seq),
      [4, 3, 2],
    );
    assert.ok(page2.items[2].readAt !== null);
    client.send({ type: 'history', limit: 3, before: 2 });
    const page3 = await client.next('history');
    assert.deepEqual(
      page3.items.map((n) => n.seq),
      [1],
    );
    assert.equal(page3.nextBefore, null);
    client.send({ type: 'history', unreadOnly: true, limit: 100 });
    assert.deepEqual(
      (await client.next('history')).items.map((n) => n.seq),
      [7, 6, 5, 4, 3],
    );
    client.send({ type: 'history', limit: 101, ref: 'too-many' });
    assert.equal((await client.next('error')).ref, 'too-many');
    await client.close();
  });

  it('neither delivers nor replays an expired notification, and retention deletes it', async () => {
    await cluster.post({ userId: 'ttl', topic: 'keep' });
    await cluster.post({ userId: 'ttl', topic: 'short.lived', ttlSeconds: 1 });
    await cluster.post({ userId: 'ttl', topic: 'keep.too' });
    await sleep(1500);
    const client = await device('ttl', 0, 'device=t&since=0');
    const frames: NotificationFrame[] = [
      await client.next('notification'),
      await client.next('notification'),
    ];
    assert.deepEqual(
      frames.map((f) => [f.seq, f.topic]),
      [
        [1, 'keep'],
        [3, 'keep.too'],
      ],
    );
    let rows: { n: number }[] = [];
    for (let i = 0; i < 30; i++) {
      rows = await cluster.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM notifications WHERE user_id = 'ttl'`,
      );
      if (rows[0].n === 2) break;
      await sleep(100);
    }
    assert.equal(rows[0].n, 2, 'the retention job removed the expired row');
    await client.close();
  });
});
