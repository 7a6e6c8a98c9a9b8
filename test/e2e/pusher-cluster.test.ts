import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type PusherJs from 'pusher-js';
import { Topology } from '@notify/amqp';
import { PUSHER_TERMINATE_KIND, pusherUserRoutingKey } from '@notify/pusher';
import {
  publishPusherEvent,
  PUSHER_TEST_APP,
  PUSHER_TEST_APPS,
  pusherJsClient,
  pusherSocketId,
  pusherSigner,
  PusherRawClient,
  startCluster,
  startHaproxy,
  whenSubscribed,
  type TestCluster,
  type TestHaproxy,
} from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every event `client` hears on `channel`, by name. */
function record(client: PusherJs, channel: string): { event: string; data: unknown }[] {
  const heard: { event: string; data: unknown }[] = [];
  client.channel(channel).bind_global((event: string, data: unknown) => {
    if (!event.startsWith('pusher')) heard.push({ event, data });
  });
  return heard;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('Pusher protocol 7 across two gateways, with pusher-js and laravel-echo', () => {
  let cluster: TestCluster;
  let proxy: TestHaproxy;
  const clients: PusherJs[] = [];
  const port = (i: number): number => cluster.gateways[i].port;

  before(async () => {
    cluster = await startCluster({ gateways: 2, env: { NOTIFY_PUSHER_APPS: PUSHER_TEST_APPS } });
    proxy = await startHaproxy(cluster.gateways.map((g) => g.port));
    await proxy.waitAllUp();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await proxy?.stop();
    await cluster?.stop();
  });

  function pusherJs(p: number): PusherJs {
    const c = pusherJsClient(p);
    clients.push(c);
    return c;
  }

  it('delivers a published event to pusher-js subscribers on both nodes, skipping the excluded socket', async () => {
    const [a, b, c] = [pusherJs(port(0)), pusherJs(port(1)), pusherJs(port(1))];
    const excluded = await pusherSocketId(b);
    for (const client of [a, b, c]) {
      await whenSubscribed(client, 'orders');
      await whenSubscribed(client, 'private-orders');
    }
    const heard = [a, b, c].map((client) => record(client, 'private-orders'));
    await publishPusherEvent(cluster, 'private-orders', {
      event: 'created',
      data: '{"id":1}',
      exclude: excluded,
    });
    await publishPusherEvent(cluster, 'private-orders', { event: 'created', data: '{"id":2}' });
    await until('both events on a and c', () => heard[0].length === 2 && heard[2].length === 2);
    assert.deepEqual(heard[0], [
      { event: 'created', data: { id: 1 } },
      { event: 'created', data: { id: 2 } },
    ]);
    await until('the second event on b', () => heard[1].length === 1);
    assert.deepEqual(
      heard[1],
      [{ event: 'created', data: { id: 2 } }],
      'the excluded socket skips the first',
    );
  });

  it('relays client events to the channel on every node, never to the sender', async () => {
    const [a, b, c] = [pusherJs(port(0)), pusherJs(port(1)), pusherJs(port(0))];
    for (const client of [a, b, c]) await whenSubscribed(client, 'private-chat');
    const heard = [a, b, c].map((client) => record(client, 'private-chat'));
    assert.ok(a.channel('private-chat').trigger('client-typing', { who: 'a' }));
    await until('b and c hear it', () => heard[1].length === 1 && heard[2].length === 1);
    assert.deepEqual(heard[1], [{ event: 'client-typing', data: { who: 'a' } }]);
    await sleep(300);
    assert.equal(heard[0].length, 0, 'not back to the sender');
  });

  it('signs users in and closes their sockets on every node with 4009 on terminate_connections', async () => {
    const signin = async (node: number, userId: string): Promise<PusherRawClient> => {
      const c = await PusherRawClient.established(port(node));
      const signed = pusherSigner.authenticateUser(c.socketId, { id: userId, user_info: { name: userId } });
      c.send({ event: 'pusher:signin', data: signed });
      const success = await c.next('pusher:signin_success');
      assert.equal(JSON.parse((success.data as { user_data: string }).user_data).id, userId);
      return c;
    };
    const [u1a, u1b, u2] = [await signin(0, 'u1'), await signin(1, 'u1'), await signin(0, 'u2')];
    const bad = await PusherRawClient.established(port(1));
    bad.send({
      event: 'pusher:signin',
      data: { auth: `${PUSHER_TEST_APP.key}:${'0'.repeat(64)}`, user_data: '{"id":"u1"}' },
    });
    assert.equal(await bad.closed, 4009);
    // An id whose routing key is over AMQP's 255 bytes (80 CJK characters are 240 bytes) is refused
    // at sign-in; had it reached the node queue's bind, that node would bind nothing again.
    const long = await PusherRawClient.established(port(1));
    long.send({
      event: 'pusher:signin',
      data: pusherSigner.authenticateUser(long.socketId, { id: '名'.repeat(80) }),
    });
    const refusal = (await long.next('pusher:error')).data as { code: number; message: string };
    assert.deepEqual([refusal.code, /bytes/.test(refusal.message)], [4009, true], refusal.message);
    assert.equal(await long.closed, 4009);
    const u3 = await signin(1, 'u3');

    const { channel } = await cluster.amqp();
    channel.publish(
      Topology.deliveryExchange,
      pusherUserRoutingKey(PUSHER_TEST_APP.id, 'u1'),
      Buffer.alloc(0),
      {
        type: PUSHER_TERMINATE_KIND,
      },
    );
    await channel.waitForConfirms();
    assert.deepEqual(await Promise.all([u1a.closed, u1b.closed]), [4009, 4009]);
    u2.send({ event: 'pusher:ping', data: {} });
    await u2.next('pusher:pong');
    u2.close();
    u3.close();
  });

  it('laravel-echo (on pusher-js) listens to a public and a private channel', async () => {
    // laravel-echo is an ES module only: imported as one, not through the CommonJS require of this build.
    const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<{
      default: new (options: Record<string, unknown>) => EchoLike;
    }>;
    const { default: Echo } = await importEsm('laravel-echo');
    const { default: Pusher } = await import('pusher-js');
    const echo = new Echo({
      broadcaster: 'pusher',
      Pusher,
      key: PUSHER_TEST_APP.key,
      cluster: 'mt1',
      wsHost: '127.0.0.1',
      wsPort: proxy.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      authorizer: (channel: { name: string }) => ({
        authorize: (socketId: string, callback: (error: Error | null, data: unknown) => void) =>
          callback(null, pusherSigner.authorizeChannel(socketId, channel.name)),
      }),
    });
    try {
      const heard: unknown[] = [];
      const subscribed = (ch: EchoChannel): Promise<void> =>
        new Promise((resolve) => ch.subscribed(() => resolve()));
      const pub = echo.channel('news').listen('.headline', (e: unknown) => heard.push(['news', e]));
      const priv = echo.private('orders.7').listen('OrderShipped', (e: unknown) => heard.push(['orders', e]));
      await Promise.all([subscribed(pub), subscribed(priv)]);
      await publishPusherEvent(cluster, 'news', { event: 'headline', data: '{"title":"hi"}' });
      await publishPusherEvent(cluster, 'private-orders.7', {
        event: 'App\\Events\\OrderShipped',
        data: '{"id":7}',
      });
      await until('both events', () => heard.length === 2);
      assert.deepEqual(heard, [
        ['news', { title: 'hi' }],
        ['orders', { id: 7 }],
      ]);
    } finally {
      echo.disconnect();
    }
  });

  it('pusher-js clients of a SIGKILLed gateway reconnect through HAProxy, resubscribe and receive', async () => {
    const behindProxy = Array.from({ length: 4 }, () => pusherJs(proxy.port));
    const firstIds = await Promise.all(behindProxy.map(pusherSocketId));
    for (const client of behindProxy) await whenSubscribed(client, 'private-alerts');
    const heard = behindProxy.map((client) => record(client, 'private-alerts'));
    await cluster.gateways[0].stop('SIGKILL');
    await until(
      'the killed node’s clients on new sockets',
      () =>
        behindProxy.every((c) => c.connection.state === 'connected') &&
        behindProxy.some((c, i) => c.connection.socket_id !== firstIds[i]),
      20_000,
    );
    // Resubscribed: pusher-js does it on reconnect; wait for every channel to say so.
    await until(
      'every channel subscribed again',
      () => behindProxy.every((c) => c.channel('private-alerts').subscribed),
      10_000,
    );
    await publishPusherEvent(cluster, 'private-alerts', { event: 'fire', data: '{"n":1}' });
    await until('every client hears it', () => heard.every((h) => h.length === 1), 10_000);
    await cluster.startGateway(0);
    await proxy.waitAllUp(15_000);
  });
});

interface EchoChannel {
  listen(event: string, callback: (e: unknown) => void): EchoChannel;
  subscribed(callback: () => void): EchoChannel;
}

interface EchoLike {
  channel(name: string): EchoChannel;
  private(name: string): EchoChannel;
  disconnect(): void;
}
