import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import Pusher from 'pusher';
import type PusherJs from 'pusher-js';
import {
  eventually,
  freePort,
  PUSHER_TEST_APP,
  PUSHER_TEST_APPS,
  pusherJsClient,
  pusherJsPresenceClient,
  startCluster,
  whenSubscribed,
  type TestCluster,
} from '@notify/testing';

interface Event {
  name: string;
  channel: string;
  user_id?: string;
  event?: string;
  data?: string;
  socket_id?: string;
}

const TICK_MS = 100;
/** Longer than a tick, the gateways' 200 ms occupancy flush and the webhook batcher, with margin. */
const SETTLE_MS = 1500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Where webhook events come from, end to end: two gateways, pusher-js clients, ingest POSTing to a
 * local receiver. Channel and member events are cluster-wide transitions (one per change whatever
 * the number of nodes); client events come from the gateway that relays them.
 */
describe('Pusher webhook sources across two gateways', () => {
  let cluster: TestCluster;
  let server: Server;
  const events: Event[] = [];
  let invalid = 0;
  const clients: PusherJs[] = [];
  const sdk = new Pusher({
    appId: PUSHER_TEST_APP.id,
    key: PUSHER_TEST_APP.key,
    secret: PUSHER_TEST_APP.secret,
    host: '127.0.0.1',
  });
  const client = (gateway: number, userId?: string): PusherJs => {
    const port = cluster.gateways[gateway].port;
    const c = userId ? pusherJsPresenceClient(port, { user_id: userId }) : pusherJsClient(port);
    clients.push(c);
    return c;
  };
  /** The backend pid holding the webhook sources' advisory lock, if any. */
  const lockHolder = async (): Promise<number | null> => {
    const rows = await cluster.db.query<{ pid: number }>(
      `SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'notify-ingest-webhook-sources'
         AND a.datname = current_database()`,
    );
    return rows[0]?.pid ?? null;
  };
  const of = (channel: string, name?: string): Event[] =>
    events.filter((e) => e.channel === channel && (name === undefined || e.name === name));

  before(async () => {
    const port = await freePort();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const webhook = sdk.webhook({ headers: req.headers as Record<string, string>, rawBody: body });
        if (!webhook.isValid()) invalid++;
        else events.push(...(webhook.getEvents() as Event[]));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    cluster = await startCluster({
      gateways: 2,
      env: {
        NOTIFY_PUSHER_APPS: PUSHER_TEST_APPS,
        NOTIFY_PUSHER_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks`,
        NOTIFY_PUSHER_WEBHOOKS: 'true',
        NOTIFY_PUSHER_WEBHOOK_SOURCES_INTERVAL_MS: String(TICK_MS),
      },
    });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.stop();
    server?.close();
  });

  it('reports a channel occupied on two nodes once, and vacated once when the last leaves', async () => {
    const a = client(0);
    const b = client(1);
    await whenSubscribed(a, 'news');
    await eventually(events, () => of('news', 'channel_occupied').length === 1, 10_000);
    await whenSubscribed(b, 'news');
    a.unsubscribe('news');
    await sleep(SETTLE_MS);
    assert.deepEqual(
      of('news'),
      [{ name: 'channel_occupied', channel: 'news' }],
      'B joining, A leaving: no event',
    );
    b.unsubscribe('news');
    await eventually(events, () => of('news', 'channel_vacated').length === 1, 10_000);
    await sleep(SETTLE_MS);
    assert.deepEqual(of('news'), [
      { name: 'channel_occupied', channel: 'news' },
      { name: 'channel_vacated', channel: 'news' },
    ]);
    assert.equal(invalid, 0, 'every request signed with the app secret');
  });

  it('adds a presence member connected on two nodes once, and removes it with its last connection', async () => {
    const room = 'presence-room';
    const a = client(0, 'u1');
    const b = client(1, 'u1');
    const c = client(1, 'u2');
    await whenSubscribed(a, room);
    await eventually(events, () => of(room, 'member_added').length === 1, 10_000);
    await whenSubscribed(b, room);
    await whenSubscribed(c, room);
    await eventually(events, () => of(room, 'member_added').length === 2, 10_000);
    a.unsubscribe(room);
    c.unsubscribe(room);
    await eventually(events, () => of(room, 'member_removed').length === 1, 10_000);
    await sleep(SETTLE_MS);
    assert.deepEqual(of(room), [
      { name: 'channel_occupied', channel: room },
      { name: 'member_added', channel: room, user_id: 'u1' },
      { name: 'member_added', channel: room, user_id: 'u2' },
      { name: 'member_removed', channel: room, user_id: 'u2' },
    ]);
    b.unsubscribe(room);
    await eventually(events, () => of(room, 'channel_vacated').length === 1, 10_000);
    assert.deepEqual(of(room).slice(4), [
      { name: 'member_removed', channel: room, user_id: 'u1' },
      { name: 'channel_vacated', channel: room },
    ]);
  });

  it('reports a client event once, from the gateway that relayed it, with socket_id and user_id', async () => {
    const sender = client(0, 'u7');
    const receiver = client(1);
    await whenSubscribed(sender, 'private-chat');
    await whenSubscribed(receiver, 'private-chat');
    const heard: unknown[] = [];
    receiver.channel('private-chat').bind('client-typing', (d: unknown) => heard.push(d));
    sender.channel('private-chat').trigger('client-typing', { who: 'me' });
    await eventually(events, () => of('private-chat', 'client_event').length === 1, 10_000);
    assert.deepEqual(of('private-chat', 'client_event'), [
      {
        name: 'client_event',
        channel: 'private-chat',
        event: 'client-typing',
        data: '{"who":"me"}',
        socket_id: sender.connection.socket_id,
      },
    ]);
    await eventually(heard, () => heard.length === 1, 5_000);

    await whenSubscribed(sender, 'presence-chat');
    await whenSubscribed(client(1, 'u8'), 'presence-chat');
    sender.channel('presence-chat').trigger('client-hi', 'plain');
    await eventually(events, () => of('presence-chat', 'client_event').length === 1, 10_000);
    assert.deepEqual(of('presence-chat', 'client_event'), [
      {
        name: 'client_event',
        channel: 'presence-chat',
        event: 'client-hi',
        data: 'plain',
        socket_id: sender.connection.socket_id,
        user_id: 'u7',
      },
    ]);
    await sleep(SETTLE_MS);
    assert.equal(of('private-chat', 'client_event').length, 1, 'once, not once per node');
  });

  it('after an ingest restart reports no old state again, and goes on with the transitions', async () => {
    const stay = client(0);
    await whenSubscribed(stay, 'kept');
    await eventually(events, () => of('kept', 'channel_occupied').length === 1, 10_000);
    const before = await lockHolder();
    await cluster.ingest.stop();
    await cluster.startIngest();
    // A new holder starts from what is, silently (a transition while no ingest holds the lock is not
    // reported: docs/pusher.md). So `later` subscribes only once the new ingest holds the lock and has
    // taken its first snapshot, a tick after; under load its first tick can come late.
    for (let i = 0; i < 150; i++) {
      const holder = await lockHolder();
      if (holder !== null && holder !== before) break;
      await sleep(100);
    }
    await sleep(5 * TICK_MS);
    const later = client(1);
    await whenSubscribed(later, 'later');
    await eventually(events, () => of('later', 'channel_occupied').length === 1, 15_000);
    stay.unsubscribe('kept');
    await eventually(events, () => of('kept', 'channel_vacated').length === 1, 10_000);
    await sleep(SETTLE_MS);
    assert.equal(of('kept', 'channel_occupied').length, 1, 'not reported again by the new ingest');
    assert.equal(of('news').length, 2, 'nor older channels');
    assert.equal(invalid, 0);
  });
});
