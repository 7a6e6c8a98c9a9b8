import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NotificationPayload } from '@notify/protocol';
import { signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';

interface Page {
  items: NotificationPayload[];
  nextBefore: number | null;
  unread: number;
}
interface FieldErrors {
  errors: { field: string; messages: string[] }[];
}

async function connectAs(cluster: TestCluster, gateway: number, userId: string, device: string) {
  const client = await TestClient.connect(cluster.wsUrl(gateway, `device=${device}`), {
    authorization: `Bearer ${await signToken(userId)}`,
  });
  return { client, ready: await client.next('ready') };
}

async function send(
  cluster: TestCluster,
  userId: string,
  topic: string,
  extra: object = {},
): Promise<string> {
  const res = await cluster.post({ userId, topic, title: topic, ...extra });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return (res.body as { results: { id: string }[] }).results[0].id;
}

const fieldsOf = (body: unknown): string[] => (body as FieldErrors).errors.map((e) => e.field);

describe('inbox API for backends (real services, two gateways)', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 2 });
  });
  after(async () => cluster?.stop());

  it('lists newest first as notification frames, pages with nextBefore, filters unreadOnly and topic, hides expired', async () => {
    const ids: string[] = [];
    for (const topic of ['order.shipped', 'order.paid', 'marketing.promo', 'digest.weekly', 'order'])
      ids.push(await send(cluster, 'lister', topic, { data: { n: ids.length } }));
    const expired = await send(cluster, 'lister', 'order.expired', { ttlSeconds: 3600 });
    await cluster.db.query(
      `UPDATE notifications SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [expired],
    );

    const first = await cluster.api('GET', '/v1/users/lister/notifications?limit=2');
    assert.equal(first.status, 200);
    const page1 = first.body as Page;
    assert.deepEqual(
      page1.items.map((n) => n.id),
      [ids[4], ids[3]],
    );
    assert.equal(page1.unread, 5, 'the expired one is not counted');
    assert.equal(page1.nextBefore, page1.items[1].seq);
    // Exactly the notification frame's payload.
    assert.deepEqual(Object.keys(page1.items[1]).sort(), [
      'createdAt',
      'data',
      'id',
      'readAt',
      'seq',
      'title',
      'topic',
    ]);
    const page2 = (
      await cluster.api('GET', `/v1/users/lister/notifications?limit=2&before=${page1.nextBefore}`)
    ).body as Page;
    assert.deepEqual(
      page2.items.map((n) => n.id),
      [ids[2], ids[1]],
    );
    const page3 = (
      await cluster.api('GET', `/v1/users/lister/notifications?limit=2&before=${page2.nextBefore}`)
    ).body as Page;
    assert.deepEqual(
      page3.items.map((n) => n.id),
      [ids[0]],
    );
    assert.equal(page3.nextBefore, null);

    const orders = (await cluster.api('GET', '/v1/users/lister/notifications?topic=order.*')).body as Page;
    assert.deepEqual(
      orders.items.map((n) => n.topic),
      ['order.paid', 'order.shipped'],
      'a prefix matches the topics below it, not itself, and never an expired one',
    );
    const exact = (await cluster.api('GET', '/v1/users/lister/notifications?topic=order')).body as Page;
    assert.deepEqual(
      exact.items.map((n) => n.id),
      [ids[4]],
    );

    const read = await cluster.api('POST', '/v1/users/lister/read', { ids: [ids[0], ids[4]] });
    assert.equal(read.status, 200);
    assert.deepEqual((read.body as { ids: string[] }).ids.sort(), [ids[0], ids[4]].sort());
    assert.equal((read.body as { unread: number }).unread, 3);
    const unreadOnly = (await cluster.api('GET', '/v1/users/lister/notifications?unreadOnly=true'))
      .body as Page;
    assert.deepEqual(
      unreadOnly.items.map((n) => n.id),
      [ids[3], ids[2], ids[1]],
    );
    const all = (await cluster.api('GET', '/v1/users/lister/notifications')).body as Page;
    assert.equal(all.items.length, 5);
    assert.ok(all.items.find((n) => n.id === ids[0])?.readAt);
  });

  it('a read from the backend clears the badge on two devices on two nodes', async () => {
    const a = await connectAs(cluster, 0, 'reader', 'phone');
    const b = await connectAs(cluster, 1, 'reader', 'laptop');
    await send(cluster, 'reader', 'order.shipped');
    const last = await send(cluster, 'reader', 'order.paid');
    for (const c of [a.client, b.client]) {
      await c.next('notification');
      await c.next('notification');
    }
    const res = await cluster.api('POST', '/v1/users/reader/read', { upTo: 2 });
    assert.equal(res.status, 200);
    assert.equal((res.body as { unread: number }).unread, 0);
    for (const c of [a.client, b.client]) {
      const read = await c.next('read');
      assert.equal(read.unread, 0);
      assert.equal(read.asOfSeq, 2);
      assert.ok(read.ids.includes(last));
      assert.equal(read.ref, undefined);
    }
    // Nothing left to change: answered, nothing broadcast.
    const again = await cluster.api('POST', '/v1/users/reader/read', { upTo: 2 });
    assert.deepEqual(again.body, { ids: [], unread: 0 });
    await Promise.all([a.client.close(), b.client.close()]);
  });

  it("isolates users: another user's notification id is a 404 and reveals nothing", async () => {
    const mine = await send(cluster, 'owner', 'secret.topic', { body: 'the secret' });
    const read = await cluster.api('POST', '/v1/users/intruder/read', { ids: [mine] });
    assert.equal(read.status, 404);
    assert.doesNotMatch(JSON.stringify(read.body), /secret/);
    const scoped = await cluster.api('GET', `/v1/notifications/${mine}?userId=intruder`);
    assert.equal(scoped.status, 404);
    assert.doesNotMatch(JSON.stringify(scoped.body), /secret/);
    const retract = await cluster.api('DELETE', `/v1/notifications/${mine}?userId=intruder`);
    assert.equal(retract.status, 404);
    const listed = (await cluster.api('GET', '/v1/users/intruder/notifications')).body as Page;
    assert.deepEqual(listed.items, []);
    // Still unread and intact for its owner.
    const own = await cluster.api('GET', `/v1/notifications/${mine}?userId=owner`);
    assert.equal(own.status, 200);
    assert.equal((own.body as { readAt: string | null }).readAt, null);
    assert.equal(
      (await cluster.api('GET', '/v1/notifications/00000000-0000-4000-8000-000000000000')).status,
      404,
    );
  });

  it('refuses bad input with 400 naming the field', async () => {
    // An unread notification, so that a read reaches its UPDATE (a user without any stops before).
    await send(cluster, 'u', 'bad.input');
    const cases: [string, string, unknown, string][] = [
      ['GET', '/v1/users/bad%20user/notifications', undefined, 'userId'],
      ['GET', '/v1/users/u/notifications?limit=101', undefined, 'limit'],
      ['GET', '/v1/users/u/notifications?limit=abc', undefined, 'limit'],
      ['GET', '/v1/users/u/notifications?before=0', undefined, 'before'],
      // Beyond a JavaScript safe integer (and PostgreSQL's bigint): a seq no user can have.
      ['GET', '/v1/users/u/notifications?before=99999999999999999999', undefined, 'before'],
      ['GET', '/v1/users/u/notifications?before=9007199254740992', undefined, 'before'],
      ['GET', '/v1/users/u/notifications?unreadOnly=yes', undefined, 'unreadOnly'],
      ['GET', '/v1/users/u/notifications?topic=a..b', undefined, 'topic'],
      ['GET', '/v1/users/u/notifications?colour=red', undefined, 'colour'],
      ['POST', '/v1/users/u/read', {}, 'ids'],
      ['POST', '/v1/users/u/read', { ids: ['not-a-uuid'] }, 'ids'],
      ['POST', '/v1/users/u/read', { upTo: -1 }, 'upTo'],
      ['POST', '/v1/users/u/read', { upTo: 1e300 }, 'upTo'],
      ['POST', '/v1/users/u/read', { upTo: 9007199254740992 }, 'upTo'],
      ['GET', '/v1/notifications/not-a-uuid', undefined, 'id'],
      ['DELETE', '/v1/notifications/not-a-uuid', undefined, 'id'],
      ['GET', '/v1/notifications/00000000-0000-4000-8000-000000000000?userId=a%20b', undefined, 'userId'],
      ['PUT', '/v1/users/u/preferences', { mutedTopics: ['marketing.**'] }, 'mutedTopics'],
      ['PUT', '/v1/users/u/preferences', { mutedTopics: 'marketing' }, 'mutedTopics'],
      [
        'PUT',
        '/v1/users/u/preferences',
        { quietHours: { start: '25:00', end: '07:00', timeZone: 'UTC' } },
        'quietHours.start',
      ],
      [
        'PUT',
        '/v1/users/u/preferences',
        { quietHours: { start: '22:00', end: '7:00', timeZone: 'UTC' } },
        'quietHours.end',
      ],
      [
        'PUT',
        '/v1/users/u/preferences',
        { quietHours: { start: '22:00', end: '22:00', timeZone: 'UTC' } },
        'quietHours.end',
      ],
      [
        'PUT',
        '/v1/users/u/preferences',
        { quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus' } },
        'quietHours.timeZone',
      ],
      ['PUT', '/v1/users/u/preferences', { quietHours: 'night' }, 'quietHours'],
      ['POST', '/v1/notifications', { userId: 'u', topic: 't', priority: 'urgent' }, 'priority'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await cluster.api(method, path, body);
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.ok(
        fieldsOf(res.body).includes(field),
        `${method} ${path}: ${JSON.stringify(res.body)} names ${field}`,
      );
    }
    const page = await cluster.api('GET', '/v1/users/u/notifications');
    assert.equal((page.body as Page).unread, 1, 'no refused read changed anything');
  });

  it('takes the largest safe integer as a seq', async () => {
    const id = await send(cluster, 'max-seq', 'max.seq');
    const page = await cluster.api('GET', '/v1/users/max-seq/notifications?before=9007199254740991');
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.deepEqual(
      (page.body as Page).items.map((n) => n.id),
      [id],
    );
    const read = await cluster.api('POST', '/v1/users/max-seq/read', { upTo: Number.MAX_SAFE_INTEGER });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.deepEqual(read.body, { ids: [id], unread: 0 });
  });

  it('answers 401 without the producer API key', async () => {
    const res = await fetch(`${cluster.ingestUrl}/v1/users/u/notifications`);
    assert.equal(res.status, 401);
  });
});
