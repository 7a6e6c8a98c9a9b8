import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import {
  ChannelOccupancyRepository,
  createDatabase,
  PresenceRepository,
  UserConnectionsRepository,
  type Db,
} from '@notify/store';
import { PUSHER_TERMINATE_KIND } from '@notify/pusher';
import {
  eventually,
  freePort,
  OTHER_PUSHER_APP,
  pusherRequest,
  spawnService,
  startCluster,
  tapDelivery,
  TEST_PUSHER_APP,
  TEST_PUSHER_APPS,
  waitReady,
  type PlainAnswer,
  type SignedRequest,
  type TappedDelivery,
  type TestCluster,
} from '@notify/testing';

const app = TEST_PUSHER_APP;
const NODE_TTL_MS = 15_000;

interface StoredRow extends Record<string, unknown> {
  channel: string;
  offset: number;
  data: { event: string; data: string; exclude?: string };
}

describe('the Pusher HTTP API on ingest, with the pusher server SDK', () => {
  let cluster: TestCluster;
  let sdk: Pusher;
  let deliveries: TappedDelivery[];
  let db: Db;
  let occupancy: ChannelOccupancyRepository;

  before(async () => {
    cluster = await startCluster({ gateways: 0, env: { NOTIFY_PUSHER_APPS: TEST_PUSHER_APPS } });
    const port = String(cluster.ingest.port);
    sdk = new Pusher({
      appId: app.id,
      key: app.key,
      secret: app.secret,
      host: '127.0.0.1',
      port,
      useTLS: false,
    });
    deliveries = await tapDelivery((await cluster.amqp()).channel);
    db = createDatabase({ url: cluster.db.url, poolSize: 2 }).db;
    occupancy = new ChannelOccupancyRepository(db);
    // Occupancy as two gateways would report it.
    const nodes = new UserConnectionsRepository(db);
    await nodes.heartbeat('gw-a', NODE_TTL_MS);
    await nodes.heartbeat('gw-b', NODE_TTL_MS);
    await occupancy.apply('gw-a', [
      { channel: 'pusher:1:news', subscriptions: 2 },
      { channel: 'pusher:1:presence-room', subscriptions: 1 },
      { channel: 'pusher:2:news', subscriptions: 9 },
    ]);
    await occupancy.apply('gw-b', [
      { channel: 'pusher:1:presence-room', subscriptions: 2 },
      { channel: 'pusher:1:private-x', subscriptions: 1 },
    ]);
    // Presence members as two gateways would record them: u2 is on both, once as a member; app 2's
    // channel of the same name is another channel.
    const presence = new PresenceRepository(db);
    const member = (channel: string, userId: string) => ({ channel, userId, connections: 1 });
    await presence.register('gw-a', 'gw-a.1', [
      member('pusher:1:presence-room', 'u1'),
      member('pusher:1:presence-room', 'u2'),
      member('pusher:2:presence-room', 'u9'),
    ]);
    await presence.register('gw-b', 'gw-b.1', [
      member('pusher:1:presence-room', 'u2'),
      member('pusher:1:presence-room', 'u3'),
    ]);
  });
  after(async () => {
    await db?.destroy();
    await cluster?.stop();
  });

  const stored = (channel: string): Promise<StoredRow[]> =>
    cluster.db.query<StoredRow>(
      'SELECT channel, "offset"::int AS "offset", data FROM channel_messages WHERE channel = $1 ORDER BY "offset"',
      [channel],
    );
  const storedCount = async (): Promise<number> =>
    Number((await cluster.db.query<{ n: string }>('SELECT count(*) AS n FROM channel_messages'))[0]?.n);
  const signed = (r: SignedRequest, target = app): Promise<PlainAnswer> =>
    pusherRequest(cluster.ingestUrl, target, r);
  const event = (over: Record<string, unknown> = {}): string =>
    JSON.stringify({ name: 'greet', data: '{}', channels: ['news'], ...over });

  it('stores a triggered event per channel with an offset and routes it like a channel message', async () => {
    const res = await sdk.trigger(
      ['news', 'private-x'],
      'greet',
      { hello: 'world' },
      { socket_id: '123.456' },
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
    for (const name of ['news', 'private-x']) {
      const [row] = await stored(`pusher:1:${name}`);
      assert.equal(row.offset, 1);
      assert.deepEqual(row.data, { event: 'greet', data: '{"hello":"world"}', exclude: '123.456' });
    }
    await eventually(
      deliveries,
      (d) => d.filter((m) => m.routingKey.startsWith('channel.pusher:1:')).length >= 2,
    );
    const news = deliveries.find((m) => m.routingKey === 'channel.pusher:1:news');
    assert.ok(news);
    assert.equal(news.type, 'message');
    assert.equal(news.headers['x-channel'], 'pusher:1:news');
    assert.equal(news.headers['x-offset'], 1);
    const frame = JSON.parse(news.body) as Record<string, unknown>;
    assert.equal(frame.type, 'message');
    assert.equal(frame.channel, 'pusher:1:news');
    assert.equal(frame.offset, 1);
    assert.deepEqual(frame.data, { event: 'greet', data: '{"hello":"world"}', exclude: '123.456' });

    // Without socket_id there is no exclude; offsets go on per channel.
    await sdk.trigger('news', 'plain', 'text as is');
    const rows = await stored('pusher:1:news');
    assert.deepEqual(rows[1], {
      channel: 'pusher:1:news',
      offset: 2,
      data: { event: 'plain', data: 'text as is' },
    });
  });

  it('answers info per channel on trigger and per event on batch', async () => {
    const res = await sdk.trigger(
      ['news', 'presence-room'],
      'greet',
      {},
      { info: 'subscription_count,user_count' },
    );
    assert.deepEqual(await res.json(), {
      channels: {
        news: { subscription_count: 2 },
        'presence-room': { user_count: 3, subscription_count: 3 },
      },
    });
    const batch = await sdk.triggerBatch([
      { channel: 'news', name: 'b1', data: { n: 1 }, info: 'subscription_count' } as Pusher.BatchEvent,
      { channel: 'quiet', name: 'b2', data: 'two' },
    ]);
    assert.deepEqual(await batch.json(), { batch: [{ subscription_count: 2 }, {}] });
    const plain = await sdk.triggerBatch([{ channel: 'quiet', name: 'b3', data: 'three' }]);
    assert.deepEqual(await plain.json(), {});
    assert.deepEqual(
      (await stored('pusher:1:quiet')).map((r) => [r.offset, r.data.event, r.data.data]),
      [
        [1, 'b2', 'two'],
        [2, 'b3', 'three'],
      ],
    );
  });

  it('lists occupied channels of the app only, by prefix, with the attributes asked for', async () => {
    const all = await sdk.get({ path: '/channels' });
    assert.deepEqual(await all.json(), { channels: { news: {}, 'presence-room': {}, 'private-x': {} } });
    const counted = await sdk.get({ path: '/channels', params: { info: 'subscription_count' } });
    assert.deepEqual(await counted.json(), {
      channels: {
        news: { subscription_count: 2 },
        'presence-room': { subscription_count: 3 },
        'private-x': { subscription_count: 1 },
      },
    });
    const presence = await sdk.get({
      path: '/channels',
      params: { filter_by_prefix: 'presence-', info: 'user_count' },
    });
    assert.deepEqual(await presence.json(), { channels: { 'presence-room': { user_count: 3 } } });
    const refused = await signed({ method: 'GET', path: '/channels', params: { info: 'user_count' } });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /user_count may only be requested with filter_by_prefix=presence-/);
  });

  it('describes one channel: occupancy, counts, a cache channel’s last event, presence users', async () => {
    const one = async (name: string, info?: string): Promise<unknown> =>
      (await sdk.get({ path: `/channels/${name}`, params: info ? { info } : {} })).json();
    assert.deepEqual(await one('news', 'subscription_count'), { occupied: true, subscription_count: 2 });
    assert.deepEqual(await one('nobody-here'), { occupied: false });
    assert.deepEqual(await one('presence-room', 'user_count,subscription_count'), {
      occupied: true,
      user_count: 3,
      subscription_count: 3,
    });
    await sdk.trigger('cache-prices', 'price', { eur: 1 });
    const cached = (await one('cache-prices', 'cache')) as {
      occupied: boolean;
      cache: { data: string; ttl: number };
    };
    assert.equal(cached.occupied, false);
    assert.equal(cached.cache.data, '{"eur":1}');
    assert.ok(cached.cache.ttl > 1790 && cached.cache.ttl <= 1800, String(cached.cache.ttl));
    assert.deepEqual(await (await sdk.get({ path: '/channels/presence-room/users' })).json(), {
      users: [{ id: 'u1' }, { id: 'u2' }, { id: 'u3' }],
    });
    assert.deepEqual(await (await sdk.get({ path: '/channels/presence-empty/users' })).json(), { users: [] });
    for (const [path, params, why] of [
      ['/channels/news', { info: 'user_count' }, /only available for presence channels/],
      ['/channels/news', { info: 'cache' }, /only available for cache channels/],
      ['/channels/news', { info: 'bogus' }, /unknown attribute "bogus"/],
      ['/channels/news/users', {}, /only listed for presence channels/],
    ] as const) {
      const res = await signed({ method: 'GET', path, params });
      assert.equal(res.status, 400, `${path} ${JSON.stringify(params)}`);
      assert.match(res.text, why);
    }
  });

  it('publishes a terminate message for a user, confirmed, with an empty body', async () => {
    const res = await sdk.terminateUserConnections('alice@example.com');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
    await eventually(deliveries, (d) => d.some((m) => m.type === PUSHER_TERMINATE_KIND));
    const terminate = deliveries.find((m) => m.type === PUSHER_TERMINATE_KIND);
    assert.equal(terminate?.routingKey, 'pusher-user.1.alice@example.com');
    assert.equal(terminate?.body, '');
  });

  it('refuses bad signatures, wrong keys, stale timestamps and a changed body with 401, storing nothing', async () => {
    const before = await storedCount();
    const published = deliveries.length;
    const body = event();
    const cases: [string, SignedRequest][] = [
      [
        'wrong secret',
        { method: 'POST', path: '/events', body, signWith: { ...app, secret: 'not-the-secret' } },
      ],
      ['key of another app', { method: 'POST', path: '/events', body, signWith: OTHER_PUSHER_APP }],
      [
        'stale timestamp',
        { method: 'POST', path: '/events', body, timestamp: Math.floor(Date.now() / 1000) - 700 },
      ],
      [
        'future timestamp',
        { method: 'POST', path: '/events', body, timestamp: Math.floor(Date.now() / 1000) + 700 },
      ],
      [
        'body_md5 of another body',
        { method: 'POST', path: '/events', body, bodyMd5: 'd41d8cd98f00b204e9800998ecf8427e' },
      ],
    ];
    const messages: string[] = [];
    for (const [name, r] of cases) {
      const res = await signed(r);
      assert.equal(res.status, 401, `${name}: ${res.text}`);
      assert.match(res.contentType, /^text\/plain/);
      messages.push(res.text);
    }
    assert.match(messages[0], /invalid signature/);
    assert.match(messages[1], /auth_key is not the key of app 1/);
    assert.match(messages[2], /auth_timestamp must be within 600 s/);
    assert.match(messages[4], /body_md5 is not the MD5 of the body/);
    // Signed for one body, sent with another (body_md5 of the first).
    const url = new URL(`${cluster.ingestUrl}/apps/1/events`);
    const query = sdk.createSignedQueryString({ method: 'POST', path: '/apps/1/events', body });
    const swapped = await fetch(`${url.toString()}?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: event({ name: 'swapped' }),
    });
    assert.equal(swapped.status, 401);
    const unsigned = await fetch(`${cluster.ingestUrl}/apps/1/channels`);
    assert.equal(unsigned.status, 401);
    assert.match(await unsigned.text(), /missing auth_key, auth_timestamp, auth_version, auth_signature/);
    assert.equal(await storedCount(), before);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(deliveries.length, published, 'nothing published');
  });

  it('answers an unknown app 404, an oversize event 413 and bad names or bodies 400', async () => {
    const unknown = new Pusher({
      appId: '99',
      key: app.key,
      secret: app.secret,
      host: '127.0.0.1',
      port: String(cluster.ingest.port),
    });
    await assert.rejects(
      unknown.trigger('news', 'e', {}),
      (err: Pusher.RequestError) => err.status === 404 && /unknown app id "99"/.test(err.body ?? ''),
    );
    const before = await storedCount();
    const limit = 10_240;
    const exact = await signed({
      method: 'POST',
      path: '/events',
      body: event({ channels: ['sized'], data: 'x'.repeat(limit) }),
    });
    assert.equal(exact.status, 200, exact.text);
    const over = await signed({
      method: 'POST',
      path: '/events',
      body: event({ channels: ['sized'], data: 'é'.repeat(limit / 2 + 1) }),
    });
    assert.equal(over.status, 413);
    assert.match(over.text, /data is 10242 bytes, over the limit of 10240 \(NOTIFY_PUSHER_MAX_EVENT_BYTES\)/);
    const refusals: [Record<string, unknown> | string, RegExp][] = [
      [{ channels: ['a b'] }, /channels\[0\] must be 1–164 characters/],
      [{ channels: ['x'.repeat(165)] }, /channels\[0\] must be/],
      [{ channels: Array.from({ length: 101 }, (_, i) => `c${i}`) }, /1–100 channel names/],
      [{ channels: undefined }, /exactly one of channels and channel/],
      [{ channel: 'a', channels: ['b'] }, /exactly one of channels and channel/],
      [{ name: 'n'.repeat(201) }, /name must be a string of 1–200 characters/],
      [{ name: 'pusher:subscription_succeeded' }, /reserved/],
      [{ data: { not: 'a string' } }, /data must be a string/],
      [{ socket_id: 'abc' }, /socket_id must look like "123.456"/],
      [{ info: 'presence' }, /unknown attribute "presence"/],
      ['[1,2', /body is not valid JSON/],
    ];
    for (const [over2, why] of refusals) {
      const body = typeof over2 === 'string' ? over2 : event(over2);
      const res = await signed({ method: 'POST', path: '/events', body });
      assert.equal(res.status, 400, `${body.slice(0, 80)}: ${res.text}`);
      assert.match(res.text, why);
    }
    const batch = await signed({
      method: 'POST',
      path: '/batch_events',
      body: JSON.stringify({
        batch: Array.from({ length: 11 }, () => ({ channel: 'b', name: 'e', data: '' })),
      }),
    });
    assert.equal(batch.status, 400);
    assert.match(batch.text, /batch must hold 1–10 events, has 11/);
    const halfBad = await signed({
      method: 'POST',
      path: '/batch_events',
      body: JSON.stringify({
        batch: [
          { channel: 'b', name: 'e', data: '' },
          { channel: 'b c', name: 'e', data: '' },
        ],
      }),
    });
    assert.equal(halfBad.status, 400);
    assert.match(halfBad.text, /batch\[1\]\.channel must be/);
    const huge = await signed({
      method: 'POST',
      path: '/events',
      body: event({ data: 'x'.repeat(300 * 1024) }),
    });
    assert.equal(huge.status, 413, 'over NOTIFY_BODY_LIMIT_BYTES');
    assert.match(huge.text, /body exceeds 262144 bytes/);
    assert.equal(await storedCount(), before + 1, 'only the event exactly at the limit was stored');
  });

  it('answers every /apps/ path 404 when NOTIFY_PUSHER_APPS is empty', async () => {
    const port = await freePort();
    const bare = spawnService('ingest', port, {
      ...cluster.env,
      NOTIFY_PUSHER_APPS: '',
      NOTIFY_INGEST_PORT: String(port),
      NOTIFY_NODE_ID: `ingest-bare-${port}`,
      NOTIFY_RETENTION_INTERVAL_MS: '0',
    });
    try {
      await waitReady(bare);
      for (const path of ['/events', '/channels', '/anything/else']) {
        const res = await pusherRequest(bare.url, app, {
          method: path === '/events' ? 'POST' : 'GET',
          path,
          body: path === '/events' ? event() : undefined,
        });
        assert.equal(res.status, 404, path);
        assert.match(res.text, /NOTIFY_PUSHER_APPS is empty/);
      }
    } finally {
      await bare.stop('SIGKILL');
    }
  });
});
