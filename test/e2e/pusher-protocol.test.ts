import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  publishPusherEvent,
  PUSHER_TEST_APPS,
  pusherSigner,
  PusherRawClient,
  startCluster,
  type TestCluster,
} from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const data = (f: { data?: unknown }): Record<string, unknown> =>
  (typeof f.data === 'string' ? JSON.parse(f.data) : f.data) as Record<string, unknown>;

const OTHER_APP = { id: 'other-app', key: 'other-key', secret: 'other-secret-456' };

describe('Pusher protocol 7 on one gateway (raw frames)', () => {
  let cluster: TestCluster;
  // Gateway 0: defaults; 1: short activity timeout; 2: no Pusher apps.
  const port = (i: number): number => Number(new URL(cluster.wsUrl(i, '')).port);
  before(async () => {
    cluster = await startCluster({
      gateways: 3,
      env: {
        NOTIFY_PUSHER_APPS: `${PUSHER_TEST_APPS},${OTHER_APP.id}:${OTHER_APP.key}:${OTHER_APP.secret}`,
        NOTIFY_PUSHER_CLIENT_EVENTS_PER_S: '3',
      },
    });
    await cluster.gateways[1].stop('SIGTERM');
    await cluster.startGateway(1, {
      NOTIFY_PUSHER_ACTIVITY_TIMEOUT_SECONDS: '1',
      NOTIFY_PUSHER_PONG_TIMEOUT_SECONDS: '1',
      NOTIFY_PUSHER_MAX_CONNECTIONS_PER_APP: '2',
    });
    await cluster.gateways[2].stop('SIGTERM');
    await cluster.startGateway(2, { NOTIFY_PUSHER_APPS: '' });
  });
  after(async () => cluster?.stop());

  it('establishes with a socket_id and activity_timeout 120, and answers pings', async () => {
    const c = await PusherRawClient.connect(port(0), '/app/test-key?protocol=7&client=js&version=8.6.0');
    const established = await c.next('pusher:connection_established');
    assert.equal(typeof established.data, 'string', 'data is a JSON string');
    const d = data(established);
    assert.match(String(d.socket_id), /^\d+\.\d+$/);
    assert.equal(d.activity_timeout, 120);
    c.send({ event: 'pusher:ping', data: {} });
    await c.next('pusher:pong');
    c.close();
  });

  it('refuses an unknown key with 4001 and an unsupported protocol with 4007, then closes', async () => {
    for (const [path, code] of [
      ['/app/nope?protocol=7', 4001],
      ['/app/test-key?protocol=6', 4007],
      ['/app/test-key', 4008],
    ] as const) {
      const c = await PusherRawClient.connect(port(0), path);
      const error = await c.next('pusher:error');
      assert.equal(data(error).code, code);
      assert.equal(await c.closed, code);
    }
  });

  it('subscribes to public, private, private-encrypted and cache channels; a bad signature is refused', async () => {
    const c = await PusherRawClient.established(port(0));
    for (const channel of ['news', 'private-room', 'private-encrypted-vault'])
      assert.equal((await c.subscribe(channel)).event, 'pusher_internal:subscription_succeeded');
    const bad = await c.subscribe('private-other', 'test-key:' + '0'.repeat(64));
    assert.equal(bad.event, 'pusher:subscription_error');
    assert.deepEqual({ type: data(bad).type, status: data(bad).status }, { type: 'AuthError', status: 401 });
    // Someone else's signature (another socket id) is no better.
    const stolen = pusherSigner.authorizeChannel('1.1', 'private-x').auth;
    assert.equal((await c.subscribe('private-x', stolen)).event, 'pusher:subscription_error');

    await c.subscribe('cache-empty');
    assert.equal((await c.next('pusher:cache_miss')).channel, 'cache-empty');

    await publishPusherEvent(cluster, 'cache-prices', { event: 'tick', data: '{"p":1}' });
    await publishPusherEvent(cluster, 'cache-prices', { event: 'tick', data: '{"p":2}' });
    await c.subscribe('cache-prices');
    const cached = await c.next('tick');
    assert.deepEqual(cached, { event: 'tick', channel: 'cache-prices', data: '{"p":2}' });
    await publishPusherEvent(cluster, 'cache-prices', { event: 'tick', data: '{"p":3}' });
    assert.equal((await c.next('tick')).data, '{"p":3}');
    assert.equal(c.frames.filter((f) => f.event === 'pusher:cache_miss').length, 0);

    // Encrypted channels are relayed as they are (the payload is the app's ciphertext).
    await publishPusherEvent(cluster, 'private-encrypted-vault', {
      event: 'secret',
      data: '{"nonce":"n","ciphertext":"c"}',
    });
    assert.equal((await c.next('secret')).data, '{"nonce":"n","ciphertext":"c"}');

    c.send({ event: 'pusher:unsubscribe', data: { channel: 'news' } });
    c.send({ event: 'pusher:unsubscribe', data: { channel: 'never-subscribed' } });
    await publishPusherEvent(cluster, 'news', { event: 'after', data: '{}' });
    c.send({ event: 'pusher:ping', data: {} });
    await c.next('pusher:pong');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.frames.filter((f) => f.event === 'after').length, 0, 'nothing after unsubscribing');
    c.close();
  });

  it('keeps apps apart: same channel names, no events across apps, no signature of one app for another', async () => {
    const mine = await PusherRawClient.established(port(0));
    const theirs = await PusherRawClient.established(port(0), OTHER_APP.key);
    await mine.subscribe('shared');
    await theirs.subscribe('shared');
    await mine.subscribe('private-shared');
    // A signature made with the test app's secret does not open the other app's private channel.
    const forged = pusherSigner.authorizeChannel(theirs.socketId, 'private-shared').auth;
    assert.equal((await theirs.subscribe('private-shared', forged)).event, 'pusher:subscription_error');
    await publishPusherEvent(cluster, 'shared', { event: 'mine-only', data: '{}' });
    await publishPusherEvent(cluster, 'shared', { event: 'theirs-only', data: '{}' }, OTHER_APP.id);
    await mine.next('mine-only');
    await theirs.next('theirs-only');
    await sleep(200);
    assert.equal(mine.frames.filter((f) => f.event === 'theirs-only').length, 0);
    assert.equal(theirs.frames.filter((f) => f.event === 'mine-only').length, 0);
    mine.close();
    theirs.close();
  });

  it('still delivers when the excluded socket is on this node but not subscribed', async () => {
    const [bystander, subscriber] = [
      await PusherRawClient.established(port(0)),
      await PusherRawClient.established(port(0)),
    ];
    await subscriber.subscribe('quiet');
    await publishPusherEvent(cluster, 'quiet', { event: 'e', data: '1', exclude: bystander.socketId });
    assert.equal((await subscriber.next('e')).data, '1');
    bystander.close();
    subscriber.close();
  });

  it('verifies presence subscriptions, answers with the members, announces others in raw frames', async () => {
    const [c, d] = [await PusherRawClient.established(port(0)), await PusherRawClient.established(port(0))];
    const signed = pusherSigner.authorizeChannel(c.socketId, 'presence-lobby', {
      user_id: 'u1',
      user_info: { name: 'One' },
    });
    c.send({
      event: 'pusher:subscribe',
      data: { channel: 'presence-lobby', auth: signed.auth, channel_data: '{"user_id":"u2"}' },
    });
    assert.equal(data(await c.next('pusher:subscription_error')).status, 401);
    c.send({ event: 'pusher:subscribe', data: { channel: 'presence-lobby', ...signed } });
    assert.deepEqual(await c.next('pusher_internal:subscription_succeeded'), {
      event: 'pusher_internal:subscription_succeeded',
      channel: 'presence-lobby',
      data: '{"presence":{"count":1,"ids":["u1"],"hash":{"u1":{"name":"One"}}}}',
    });
    const other = pusherSigner.authorizeChannel(d.socketId, 'presence-lobby', { user_id: 'u2' });
    d.send({ event: 'pusher:subscribe', data: { channel: 'presence-lobby', ...other } });
    assert.deepEqual(JSON.parse(String((await d.next('pusher_internal:subscription_succeeded')).data)), {
      presence: { count: 2, ids: ['u1', 'u2'], hash: { u1: { name: 'One' }, u2: null } },
    });
    assert.deepEqual(await c.next('pusher_internal:member_added'), {
      event: 'pusher_internal:member_added',
      channel: 'presence-lobby',
      data: '{"user_id":"u2"}',
    });
    d.send({ event: 'client-hi', channel: 'presence-lobby', data: { x: 1 } });
    assert.deepEqual(await c.next('client-hi'), {
      event: 'client-hi',
      channel: 'presence-lobby',
      data: { x: 1 },
      user_id: 'u2',
    });
    d.send({ event: 'pusher:unsubscribe', data: { channel: 'presence-lobby' } });
    assert.deepEqual(await c.next('pusher_internal:member_removed'), {
      event: 'pusher_internal:member_removed',
      channel: 'presence-lobby',
      data: '{"user_id":"u2"}',
    });
    assert.equal(d.frames.filter((f) => f.event.startsWith('pusher_internal:member')).length, 0);
    c.close();
    d.close();
  });

  it('presence-cache- channels: the members first, then the last event or pusher:cache_miss', async () => {
    /** Subscribes as `userId`; `events` records every frame's event from then on, in arrival order. */
    const subscribe = async (
      channel: string,
      userId: string,
      events: string[] = [],
    ): Promise<PusherRawClient> => {
      const c = await PusherRawClient.established(port(0));
      c.ws.on('message', (raw) => events.push((JSON.parse(String(raw)) as { event: string }).event));
      c.send({
        event: 'pusher:subscribe',
        data: { channel, ...pusherSigner.authorizeChannel(c.socketId, channel, { user_id: userId }) },
      });
      await c.next('pusher_internal:subscription_succeeded');
      return c;
    };
    const empty = await subscribe('presence-cache-empty', 'u1');
    assert.equal((await empty.next('pusher:cache_miss')).channel, 'presence-cache-empty');

    await publishPusherEvent(cluster, 'presence-cache-room', { event: 'state', data: '{"v":1}' });
    await publishPusherEvent(cluster, 'presence-cache-room', { event: 'state', data: '{"v":2}' });
    const events: string[] = [];
    const late = await subscribe('presence-cache-room', 'u2', events);
    assert.deepEqual(await late.next('state'), {
      event: 'state',
      channel: 'presence-cache-room',
      data: '{"v":2}',
    });
    assert.deepEqual(events, ['pusher_internal:subscription_succeeded', 'state']);
    empty.close();
    late.close();
  });

  it('refuses presence channel_data PostgreSQL cannot store with 400, and the channel works on', async () => {
    const [bad, good] = [
      await PusherRawClient.established(port(0)),
      await PusherRawClient.established(port(0)),
    ];
    for (const userInfo of [{ name: 'a\u0000' }, { name: '\ud800' }]) {
      const auth = pusherSigner.authorizeChannel(bad.socketId, 'presence-text', {
        user_id: 'u-bad',
        user_info: userInfo,
      });
      bad.send({ event: 'pusher:subscribe', data: { channel: 'presence-text', ...auth } });
      const refused = data(await bad.next('pusher:subscription_error'));
      assert.equal(refused.status, 400);
      assert.match(String(refused.error), /must not contain U\+0000/);
    }
    const auth = pusherSigner.authorizeChannel(good.socketId, 'presence-text', {
      user_id: 'u-good',
      user_info: { name: 'Ada 😀' },
    });
    good.send({ event: 'pusher:subscribe', data: { channel: 'presence-text', ...auth } });
    assert.deepEqual(JSON.parse(String((await good.next('pusher_internal:subscription_succeeded')).data)), {
      presence: { count: 1, ids: ['u-good'], hash: { 'u-good': { name: 'Ada 😀' } } },
    });
    bad.close();
    good.close();
  });

  it('client events: private channels only, subscribed only, never back to the sender, rate limited with 4301', async () => {
    const [a, b] = [await PusherRawClient.established(port(0)), await PusherRawClient.established(port(0))];
    await a.subscribe('private-chat');
    await b.subscribe('private-chat');
    await a.subscribe('lobby');
    a.send({ event: 'client-typing', channel: 'private-chat', data: { who: 'a' } });
    assert.deepEqual(await b.next('client-typing'), {
      event: 'client-typing',
      channel: 'private-chat',
      data: { who: 'a' },
    });
    a.send({ event: 'client-x', channel: 'lobby', data: {} });
    assert.match(String(data(await a.next('pusher:error')).message), /private and presence/);
    a.send({ event: 'client-x', channel: 'private-elsewhere', data: {} });
    assert.match(String(data(await a.next('pusher:error')).message), /not subscribed/);
    a.send({ event: 'client-big', channel: 'private-chat', data: 'x'.repeat(11_000) });
    assert.match(String(data(await a.next('pusher:error')).message), /over 10240 bytes/);
    // The budget is 3 a second here (one was spent above): a burst of 6 gets refusals.
    for (let i = 0; i < 6; i++) a.send({ event: 'client-burst', channel: 'private-chat', data: { i } });
    assert.equal(data(await a.next('pusher:error')).code, 4301);
    await b.next('client-burst');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(b.frames.filter((f) => f.event === 'client-burst').length < 6);
    assert.equal(
      a.frames.filter((f) => f.event.startsWith('client-')).length,
      0,
      'the sender never hears its own',
    );
    a.close();
    b.close();
  });

  it('answers malformed frames, unknown events and oversize frames with pusher:error and stays up', async () => {
    const c = await PusherRawClient.established(port(0));
    for (const frame of [
      '{not json',
      '[]',
      '"x"',
      '{"event":5}',
      '{"event":"pusher:subscribe","data":{"channel":"a b"}}',
      '{"event":"pusher:nope"}',
      'x'.repeat(20_000),
    ]) {
      c.send(frame);
      const error = await c.next('pusher:error');
      assert.ok(data(error).message, `answered ${frame.slice(0, 30)}`);
    }
    c.send({ event: 'pusher:subscribe', data: JSON.stringify({ channel: 'still-fine' }) });
    await c.next('pusher_internal:subscription_succeeded');
    const metrics = await (await fetch(`http://127.0.0.1:${port(0)}/metrics`)).text();
    const invalid = /notify_gateway_pusher_frames_total\{event="invalid"\} (\d+)/.exec(metrics)?.[1];
    assert.ok(Number(invalid) >= 4, metrics);
    c.close();
  });

  it('pings an idle connection and closes it with 4201 when no pong comes', async () => {
    const c = await PusherRawClient.established(port(1));
    await c.next('pusher:ping', 4000);
    c.send({ event: 'pusher:pong', data: {} });
    await c.next('pusher:ping', 4000);
    assert.equal(await c.closed, 4201);
  });

  it('closes a connection over the app quota of the node with 4004', async () => {
    const held = [await PusherRawClient.established(port(1)), await PusherRawClient.established(port(1))];
    const over = await PusherRawClient.connect(port(1), '/app/test-key?protocol=7');
    assert.equal(data(await over.next('pusher:error')).code, 4004);
    assert.equal(await over.closed, 4004);
    held[0].close();
    await held[0].closed;
    await PusherRawClient.established(port(1));
    held[1].close();
  });

  it('on SIGTERM tells Pusher clients to reconnect at once (4200)', async () => {
    const c = await PusherRawClient.established(port(1));
    const closed = c.closed;
    await cluster.gateways[1].stop('SIGTERM');
    assert.equal(data(await c.next('pusher:error')).code, 4200);
    assert.equal(await closed, 4200);
  });

  it('answers 404 on /app/* when no apps are configured, and still serves v1', async () => {
    const res = await fetch(`http://127.0.0.1:${port(2)}/app/test-key?protocol=7`);
    assert.equal(res.status, 404);
    await assert.rejects(PusherRawClient.connect(port(2), '/app/test-key?protocol=7'));
    assert.equal((await fetch(`http://127.0.0.1:${port(2)}/readyz`)).status, 200);
  });
});
