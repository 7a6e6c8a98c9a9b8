import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Pusher from 'pusher';
import type PusherJs from 'pusher-js';
import {
  PUSHER_TEST_APPS,
  pusherJsClient,
  PusherRawClient,
  pusherServerOf,
  pusherSigner,
  pusherSocketId,
  startCluster,
  type TestCluster,
  whenSubscribed,
} from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  probe: () => Promise<T> | T,
  ok: (v: T) => boolean,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(50);
  }
}

/**
 * The whole Pusher path with the clients nobody here wrote: the `pusher` server SDK against ingest's
 * HTTP API, pusher-js against two gateways. Nothing is published or counted by hand.
 */
describe('Pusher end to end: pusher server SDK → ingest → RabbitMQ → two gateways → pusher-js', () => {
  let cluster: TestCluster;
  let server: Pusher;
  const clients: PusherJs[] = [];
  const port = (i: number): number => cluster.gateways[i].port;
  const pusherJs = (p: number): PusherJs => {
    const c = pusherJsClient(p);
    clients.push(c);
    return c;
  };
  const get = async (path: string, params: Record<string, string> = {}): Promise<Record<string, unknown>> => {
    const res = await server.get({ path, params });
    return (await res.json()) as Record<string, unknown>;
  };

  before(async () => {
    cluster = await startCluster({ gateways: 2, env: { NOTIFY_PUSHER_APPS: PUSHER_TEST_APPS } });
    server = pusherServerOf(cluster);
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.stop();
  });

  it('an event triggered with the SDK reaches subscribers on both nodes, except the socket it names', async () => {
    const [a, b, c] = [pusherJs(port(0)), pusherJs(port(1)), pusherJs(port(1))];
    const excluded = await pusherSocketId(c);
    for (const client of [a, b, c]) await whenSubscribed(client, 'private-orders');
    const heard = [a, b, c].map(() => [] as unknown[]);
    [a, b, c].forEach((client, i) =>
      client.channel('private-orders').bind('created', (data: unknown) => heard[i].push(data)),
    );
    const res = await server.trigger('private-orders', 'created', { id: 7 }, { socket_id: excluded });
    assert.equal(res.status, 200);
    await until(
      'a and b hear it',
      () => heard[0].length + heard[1].length,
      (n) => n === 2,
    );
    assert.deepEqual(heard[0], [{ id: 7 }]);
    assert.deepEqual(heard[1], [{ id: 7 }]);
    await sleep(300);
    assert.equal(heard[2].length, 0, 'the excluded socket hears nothing');
  });

  it('channel queries count the subscribers the gateways hold, across both nodes', async () => {
    const [a, b, c] = [pusherJs(port(0)), pusherJs(port(1)), pusherJs(port(1))];
    for (const client of [a, b, c]) await whenSubscribed(client, 'room-42');
    const one = await until(
      'three subscriptions counted',
      () => get('/channels/room-42', { info: 'subscription_count' }),
      (v) => v.subscription_count === 3,
    );
    assert.equal(one.occupied, true);
    const list = await get('/channels', { filter_by_prefix: 'room-', info: 'subscription_count' });
    assert.deepEqual(list.channels, { 'room-42': { subscription_count: 3 } });
    for (const client of [a, b, c]) client.unsubscribe('room-42');
    await until(
      'vacated',
      () => get('/channels/room-42'),
      (v) => v.occupied === false,
    );
    assert.deepEqual((await get('/channels', { filter_by_prefix: 'room-' })).channels, {});
  });

  it('a cache channel hands a new subscriber the last event the SDK triggered', async () => {
    assert.equal((await server.trigger('cache-prices', 'tick', { price: 1 })).status, 200);
    assert.equal((await server.trigger('cache-prices', 'tick', { price: 2 })).status, 200);
    const client = pusherJs(port(1));
    const heard: unknown[] = [];
    client.subscribe('cache-prices').bind('tick', (data: unknown) => heard.push(data));
    await until(
      'the cached event',
      () => heard.length,
      (n) => n >= 1,
    );
    assert.deepEqual(heard, [{ price: 2 }]);
  });

  it("terminateUserConnections closes the user's signed-in sockets on both nodes, and only theirs", async () => {
    const signin = async (node: number, userId: string): Promise<PusherRawClient> => {
      const c = await PusherRawClient.established(port(node));
      c.send({ event: 'pusher:signin', data: pusherSigner.authenticateUser(c.socketId, { id: userId }) });
      await c.next('pusher:signin_success');
      return c;
    };
    const [u1a, u1b, u2] = [await signin(0, 'u1'), await signin(1, 'u1'), await signin(1, 'u2')];
    assert.equal((await server.terminateUserConnections('u1')).status, 200);
    assert.deepEqual(await Promise.all([u1a.closed, u1b.closed]), [4009, 4009]);
    u2.send({ event: 'pusher:ping', data: {} });
    await u2.next('pusher:pong');
    u2.close();
  });
});
