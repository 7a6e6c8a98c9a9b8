import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function connectAs(cluster: TestCluster, gateway: number, userId: string, query: string) {
  const client = await TestClient.connect(cluster.wsUrl(gateway, query), {
    authorization: `Bearer ${await signToken(userId)}`,
  });
  return { client, ready: await client.next('ready') };
}

async function send(
  cluster: TestCluster,
  userId: string,
  title: string,
): Promise<{ id: string; seq: number }> {
  const res = await cluster.post({ userId, topic: 'order.update', title, body: `${title} body` });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return (res.body as { results: { id: string; seq: number }[] }).results[0];
}

interface Details {
  id: string;
  seq: number;
  userId: string;
  title?: string;
  body?: string;
  retracted: boolean;
  readAt: string | null;
  createdAt: string;
  deliveries: { deviceId: string; deliveredAt: string | null; ackedAt: string | null }[];
}

describe('retraction and delivery receipts (real services, two gateways)', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 2 });
  });
  after(async () => cluster?.stop());

  it('reaches a connected device, and an offline one replays the seq as retracted without a gap', async () => {
    const online = await connectAs(cluster, 0, 'retractee', 'device=online');
    const n1 = await send(cluster, 'retractee', 'one');
    const n2 = await send(cluster, 'retractee', 'two');
    const n3 = await send(cluster, 'retractee', 'three');
    for (let i = 0; i < 3; i++) await online.client.next('notification');

    const res = await cluster.api('DELETE', `/v1/notifications/${n2.id}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { id: n2.id, userId: 'retractee', seq: 2, retracted: true, unread: 2 });
    const frame = await online.client.next('retracted');
    assert.deepEqual(frame, { type: 'retracted', ids: [n2.id], unread: 2, asOfSeq: 3 });

    // Retracting again is idempotent: the same answer, nothing broadcast, the count unchanged.
    const again = await cluster.api('DELETE', `/v1/notifications/${n2.id}?userId=retractee`);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, res.body);
    await sleep(200);
    assert.equal(online.client.all('retracted').length, 0);

    // A device that was offline since seq 1 resumes: seq 2 comes bare, so its stream stays gapless.
    const offline = await connectAs(cluster, 1, 'retractee', 'device=offline&since=1');
    assert.equal(offline.ready.unread, 2);
    const replayed = [await offline.client.next('notification'), await offline.client.next('notification')];
    assert.deepEqual(replayed[0], { type: 'notification', seq: 2, id: n2.id, retracted: true });
    assert.equal(replayed[1].seq, 3);
    assert.equal(replayed[1].id, n3.id);
    assert.equal(replayed[1].title, 'three');

    // Gone from history (the device's and the backend's) and from the content of its record.
    offline.client.send({ type: 'history', ref: 'h' });
    const history = await offline.client.next('history');
    assert.deepEqual(
      history.items.map((n) => n.id),
      [n3.id, n1.id],
    );
    const listed = (await cluster.api('GET', '/v1/users/retractee/notifications')).body as {
      items: { id: string }[];
    };
    assert.deepEqual(
      listed.items.map((n) => n.id),
      [n3.id, n1.id],
    );
    const details = (await cluster.api('GET', `/v1/notifications/${n2.id}`)).body as Details;
    assert.equal(details.retracted, true);
    assert.equal(details.title, undefined);
    assert.equal(details.body, undefined);

    // The read state ignores it: reading everything changes only the two that are left.
    online.client.send({ type: 'read', upTo: 3, ref: 'r' });
    const read = await online.client.next('read');
    assert.deepEqual(read.ids.sort(), [n1.id, n3.id].sort());
    assert.equal(read.unread, 0);
    await Promise.all([online.client.close(), offline.client.close()]);
  });

  it('records deliveredAt and ackedAt for two devices after they ack', async () => {
    const phone = await connectAs(cluster, 0, 'receipts', 'device=phone');
    const laptop = await connectAs(cluster, 1, 'receipts', 'device=laptop');
    const sentAt = Date.now();
    const first = await send(cluster, 'receipts', 'first');
    const second = await send(cluster, 'receipts', 'second');
    for (const c of [phone.client, laptop.client]) {
      await c.next('notification');
      await c.next('notification');
    }
    // The phone acks both, the laptop only the first.
    phone.client.send({ type: 'ack', seq: second.seq });
    laptop.client.send({ type: 'ack', seq: first.seq });

    let details: Details | undefined;
    for (let i = 0; i < 50; i++) {
      details = (await cluster.api('GET', `/v1/notifications/${first.id}?userId=receipts`)).body as Details;
      if (details.deliveries.length === 2 && details.deliveries.every((d) => d.ackedAt !== null)) break;
      await sleep(100);
    }
    assert.ok(details);
    assert.deepEqual(
      details.deliveries.map((d) => d.deviceId),
      ['laptop', 'phone'],
    );
    for (const d of details.deliveries) {
      assert.ok(d.deliveredAt && d.ackedAt, JSON.stringify(d));
      const delivered = Date.parse(d.deliveredAt);
      assert.ok(delivered >= Date.parse(details.createdAt), `delivered before created: ${JSON.stringify(d)}`);
      assert.ok(delivered >= sentAt - 1000 && delivered <= Date.parse(d.ackedAt), JSON.stringify(d));
    }

    let secondDetails: Details | undefined;
    for (let i = 0; i < 50; i++) {
      secondDetails = (await cluster.api('GET', `/v1/notifications/${second.id}`)).body as Details;
      if (secondDetails.deliveries.find((d) => d.deviceId === 'phone')?.ackedAt) break;
      await sleep(100);
    }
    const byDevice = new Map(secondDetails?.deliveries.map((d) => [d.deviceId, d]));
    assert.ok(byDevice.get('phone')?.ackedAt, 'the phone acked the second');
    assert.ok(byDevice.get('laptop')?.deliveredAt, 'the laptop got the second');
    assert.equal(byDevice.get('laptop')?.ackedAt, null, 'but did not ack it');
    await Promise.all([phone.client.close(), laptop.client.close()]);
  });
});
