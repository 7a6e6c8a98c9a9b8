import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { MemoryStorage, NotifyClient, type NotifyError, type SubscriptionStatus } from '@notify/client';
import { freePort, signToken, startCluster, type TestCluster } from '@notify/testing';
import {
  deviceCursor,
  gatewayUrl,
  postMany,
  publishChannel,
  range,
  RecordingClient,
  restartGateway,
  sleep,
  spyWebSocket,
  waitUntil,
  type Wire,
} from './sdk-harness';

describe('SDK (@notify/client) against a real gateway', () => {
  let cluster: TestCluster;
  let url: string;
  const clients: RecordingClient[] = [];

  before(async () => {
    cluster = await startCluster({
      gateways: 1,
      env: {
        NOTIFY_ACK_FLUSH_MS: '20',
        NOTIFY_CHANNEL_HISTORY_SIZE: '5',
        NOTIFY_RETENTION_INTERVAL_MS: '200',
      },
    });
    url = gatewayUrl(cluster.gateways[0].port);
  });
  // Clients of a finished test would only reconnect through the next test's gateway restarts.
  afterEach(() => {
    for (const c of clients.splice(0)) c.client.close();
  });
  after(async () => cluster?.stop());

  function client(
    userId: string,
    options: Partial<ConstructorParameters<typeof RecordingClient>[0]> = {},
    channels?: string[],
  ): RecordingClient {
    const c = new RecordingClient({ url, token: () => signToken(userId, { channels }), ...options });
    clients.push(c);
    return c;
  }

  it('connects with ready info, delivers each notification once in seq order, and acks cumulatively, coalesced', async () => {
    const c = client('ann');
    const ready = await c.client.connect();
    assert.equal(ready.userId, 'ann');
    assert.equal(ready.node, cluster.nodeId(0));
    assert.equal(ready.deviceId, c.client.deviceId);
    assert.match(c.client.deviceId, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(c.client.state, 'open');
    assert.deepEqual(
      c.states.map((s) => s.state),
      ['connecting', 'open'],
    );
    assert.match(c.wire.urls[0], /[?&]device=[A-Za-z0-9_-]{22}&token=[^&]+$/, 'first connection: no since');

    const postedAt = performance.now();
    await postMany(cluster, 'ann', 30);
    await c.waitForSeqs(30);
    assert.deepEqual(c.seqs(), range(1, 30));
    assert.equal(c.client.unread, 30);
    await waitUntil(
      () => c.acks().at(-1) === 30,
      () => `acks ${JSON.stringify(c.acks())}`,
    );
    const acks = c.acks();
    // At most one ack per ackDelayMs (100 by default) while notifications keep arriving, however slowly
    // a loaded machine delivers them.
    const windows = Math.ceil((performance.now() - postedAt) / 100) + 1;
    assert.ok(
      acks.length <= Math.min(windows, 29),
      `acks are coalesced: ${JSON.stringify(acks)} in ${windows} windows`,
    );
    assert.deepEqual(
      [...acks].sort((a, b) => a - b),
      acks,
      'acks only increase',
    );
    let cursor = 0;
    for (let i = 0; i < 50 && cursor < 30; i++) {
      cursor = await deviceCursor(cluster, 'ann', c.client.deviceId);
      if (cursor < 30) await sleep(50);
    }
    assert.equal(cursor, 30, 'the device cursor advanced to the last ack');
    assert.deepEqual(c.errors, []);
  });

  it('resumes a stored device with since = its last seq: nothing missed, nothing twice', async () => {
    const storage = new MemoryStorage();
    const first = client('ben', { storage });
    await first.client.connect();
    await postMany(cluster, 'ben', 3);
    await first.waitForSeqs(3);
    first.client.close();
    assert.equal(first.client.state, 'closed');
    await postMany(cluster, 'ben', 3);

    const second = client('ben', { storage });
    assert.equal(second.client.deviceId, first.client.deviceId, 'the device id is kept in storage');
    await second.client.connect();
    assert.match(second.wire.urls[0], /&since=3$/);
    await postMany(cluster, 'ben', 1);
    await second.waitForSeqs(4);
    await sleep(200);
    assert.deepEqual(second.seqs(), [4, 5, 6, 7]);
  });

  it('asks the token function again when the upgrade is refused (HTTP 401 looks like 1006 to a client)', async () => {
    let calls = 0;
    const c = client('hal', {
      token: () =>
        signToken('hal', calls++ === 0 ? { secret: 'a-wrong-secret-that-is-long-enough-for-hs256' } : {}),
    });
    const ready = await c.client.connect();
    assert.equal(ready.userId, 'hal');
    assert.equal(calls, 2);
    assert.deepEqual(
      c.states.map((s) => [s.state, s.closeCode]),
      [
        ['connecting', undefined],
        ['connecting', 1006],
        ['open', undefined],
      ],
    );
    assert.equal(c.wire.urls.length, 2);
  });

  it('awaits async handlers before acking, and with autoAck: false acks only what the app acked', async () => {
    const storage = new MemoryStorage();
    const manual = client('cat', { storage, autoAck: false });
    await manual.client.connect();
    await postMany(cluster, 'cat', 4);
    await manual.waitForSeqs(4);
    await sleep(300);
    assert.deepEqual(manual.acks(), [], 'nothing acked by itself');
    manual.client.ack(2);
    await waitUntil(
      () => manual.acks().includes(2),
      () => JSON.stringify(manual.acks()),
    );
    manual.client.close();

    // The same device again: 3 and 4 were not acked, so they come again (and only they).
    const again = client('cat', { storage });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    again.client.on('notification', (n) => (n.seq === 3 ? gate : undefined));
    await again.client.connect();
    assert.match(again.wire.urls[0], /&since=2$/);
    await again.waitForSeqs(2);
    assert.deepEqual(again.seqs(), [3, 4]);
    await sleep(300);
    assert.ok(
      again.acks().every((seq) => seq <= 2),
      `seq 3’s handler has not finished: neither 3 nor 4 acked (${JSON.stringify(again.acks())})`,
    );
    release();
    await waitUntil(
      () => again.acks().at(-1) === 4,
      () => JSON.stringify(again.acks()),
    );
  });

  it('keeps the unread badge in sync across two devices of a user (read frames with asOfSeq)', async () => {
    const a = client('dora');
    const b = client('dora');
    await Promise.all([a.client.connect(), b.client.connect()]);
    const ids = await postMany(cluster, 'dora', 3);
    await Promise.all([a.waitForSeqs(3), b.waitForSeqs(3)]);
    assert.deepEqual([a.client.unread, b.client.unread], [3, 3]);

    a.client.markRead([ids[0]]);
    await waitUntil(
      () => b.client.unread === 2 && a.client.unread === 2,
      () => `unread ${a.client.unread}/${b.client.unread}`,
    );
    assert.deepEqual(b.reads.at(-1), { ids: [ids[0]], unread: 2 });

    await postMany(cluster, 'dora', 1);
    await Promise.all([a.waitForSeqs(4), b.waitForSeqs(4)]);
    assert.deepEqual([a.client.unread, b.client.unread], [3, 3]);

    b.client.markAllRead();
    await waitUntil(
      () => a.client.unread === 0 && b.client.unread === 0,
      () => `unread ${a.client.unread}/${b.client.unread}`,
    );
    // A new device starts from the durable count.
    const c = client('dora');
    assert.equal((await c.client.connect()).unread, 0);
    assert.equal(c.client.unread, 0);
  });

  it('drops retracted notifications (live and in a replay, acked, never emitted), keeps silent ones out of the badge, and syncs preferences', async () => {
    const a = client('fay');
    const retracted: { ids: string[]; unread: number }[] = [];
    const prefs: { version: number; mutedTopics: string[] }[] = [];
    a.client.on('retracted', (r) => void retracted.push(r));
    a.client.on('preferences', (p) => void prefs.push(p));
    await a.client.connect();
    const ids = await postMany(cluster, 'fay', 2);
    await a.waitForSeqs(2);
    assert.equal(a.client.unread, 2);

    // Live: the badge drops, the app is told which to remove.
    assert.equal((await cluster.api('DELETE', `/v1/notifications/${ids[0]}`)).status, 200);
    await waitUntil(
      () => retracted.length === 1,
      () => JSON.stringify(retracted),
    );
    assert.deepEqual(retracted[0], { ids: [ids[0]], unread: 1 });
    assert.equal(a.client.unread, 1);

    // Preferences from this device: every device hears them (this one too), the newest version kept.
    const b = client('fay', { storage: new MemoryStorage() });
    const bPrefs: { version: number }[] = [];
    b.client.on('preferences', (p) => void bPrefs.push(p));
    await b.client.connect();
    a.client.setPreferences({ mutedTopics: ['sdk.*'], quietHours: null });
    await waitUntil(
      () => prefs.length === 1 && bPrefs.length === 1,
      () => `${JSON.stringify(prefs)} / ${JSON.stringify(bPrefs)}`,
    );
    assert.deepEqual(a.client.preferences, { mutedTopics: ['sdk.*'], quietHours: null, version: 1 });
    assert.deepEqual(b.client.preferences, a.client.preferences);

    // Muted topic: delivered with silent, not counted.
    const [silentId] = await postMany(cluster, 'fay', 1);
    await a.waitForSeqs(3);
    assert.equal(a.notifications.at(-1)?.id, silentId);
    assert.equal(a.notifications.at(-1)?.silent, true);
    assert.equal(a.client.unread, 1);

    // Offline, then a retraction of a notification it never got: the replay carries the bare seq,
    // which is acked and emitted as `retracted`, never as a notification.
    a.client.close();
    const [gone, kept] = await postMany(cluster, 'fay', 2);
    assert.equal((await cluster.api('DELETE', `/v1/notifications/${gone}`)).status, 200);
    await a.client.connect();
    await a.waitForSeqs(4);
    assert.deepEqual(a.seqs(), [1, 2, 3, 5]);
    assert.equal(a.notifications.at(-1)?.id, kept);
    await waitUntil(
      () => retracted.some((r) => r.ids.includes(gone)),
      () => JSON.stringify(retracted),
    );
    await waitUntil(
      () => a.acks().at(-1) === 5,
      () => JSON.stringify(a.acks()),
    );
    assert.equal(a.client.unread, 1, 'ids[1] is the only unread one left (sdk.* is muted)');
  });

  it('pages history: one page, every page with for await (following nextBefore), unread only', async () => {
    await postMany(cluster, 'eve', 25);
    const c = client('eve');
    await c.client.connect();

    const page = await c.client.history({ limit: 10 });
    assert.deepEqual(
      page.items.map((n) => n.seq),
      range(16, 25).reverse(),
    );
    assert.equal(page.nextBefore, 16);
    assert.equal(page.items[0].title, 'n24');

    const all: number[] = [];
    for await (const n of c.client.history({ limit: 7 })) all.push(n.seq);
    assert.deepEqual(all, range(1, 25).reverse());

    const pages: number[] = [];
    for await (const p of c.client.historyPages({ limit: 10, before: 21 })) pages.push(p.items.length);
    assert.deepEqual(pages, [10, 10]);

    c.client.markRead({ upTo: 20 });
    await waitUntil(
      () => c.client.unread === 5,
      () => `unread ${c.client.unread}`,
    );
    const unread: number[] = [];
    for await (const n of c.client.history({ unreadOnly: true })) unread.push(n.seq);
    assert.deepEqual(unread, range(21, 25).reverse());
    await assert.rejects(
      c.client.historyPage({ before: 0 }),
      (err: NotifyError) => err.code === 'bad_request',
    );
  });

  it('subscribes to channels, renews after a lost connection with since, and says when history no longer covers the gap', async () => {
    const c = client('fay', {}, ['scores.*']);
    await c.client.connect();
    const got: number[] = [];
    const statuses: SubscriptionStatus[] = [];
    const unsubscribe = c.client.subscribe('scores.live', (m) => void got.push(m.data as number), {
      onSubscribed: (s) => void statuses.push(s),
    });
    await waitUntil(
      () => statuses.length === 1,
      () => 'subscribed',
    );
    assert.deepEqual(statuses[0], { channel: 'scores.live', offset: 0, recovered: true });
    await publishChannel(cluster, 'scores.live', 1);
    await publishChannel(cluster, 'scores.live', 2);
    await waitUntil(
      () => got.length === 2,
      () => JSON.stringify(got),
    );

    // The connection drops; messages published meanwhile are replayed on the renewed subscription.
    c.socket().terminate();
    await publishChannel(cluster, 'scores.live', 3);
    await publishChannel(cluster, 'scores.live', 4);
    await waitUntil(
      () => got.length === 4,
      () => `${JSON.stringify(got)}; ${c.stateTrail()}`,
    );
    assert.deepEqual(got, [1, 2, 3, 4]);
    assert.ok(
      c.wire.sent.some((f) => f.type === 'subscribe' && f.channel === 'scores.live' && f.since === 2),
      'renewed with since = the last offset received',
    );
    assert.equal(statuses.at(-1)?.recovered, true);

    // Public channels need no claim; a refused channel is reported and dropped.
    const refused: NotifyError[] = [];
    c.client.subscribe('secret.stuff', () => undefined, { onError: (e) => void refused.push(e) });
    await waitUntil(
      () => refused.length === 1,
      () => 'forbidden reported',
    );
    assert.equal(refused[0].code, 'forbidden');
    assert.equal(refused[0].details.channel, 'secret.stuff');
    assert.throws(() => c.client.subscribe('bad channel', () => undefined), TypeError);

    // Down long enough for the channel's history (5 messages) to move past what the client has.
    const busy: number[] = [];
    const busyStatus: SubscriptionStatus[] = [];
    c.client.subscribe('public.busy', (m) => void busy.push(m.offset), {
      onSubscribed: (s) => void busyStatus.push(s),
    });
    await waitUntil(
      () => busyStatus.length === 1,
      () => 'subscribed to public.busy',
    );
    await publishChannel(cluster, 'public.busy', 'a');
    await waitUntil(
      () => busy.length === 1,
      () => 'first busy message',
    );
    const statesBefore = c.states.length;
    await cluster.gateways[0].stop('SIGKILL');
    await c.waitForState((s) => s.state === 'reconnecting', statesBefore);
    for (let i = 0; i < 12; i++) await publishChannel(cluster, 'public.busy', i);
    let trimmed = 0;
    for (let i = 0; i < 100 && trimmed < 7; i++) {
      const rows = await cluster.db.query<{ t: number }>(
        `SELECT trimmed_offset::int AS t FROM channel_streams WHERE channel = 'public.busy'`,
      );
      trimmed = rows[0]?.t ?? 0;
      if (trimmed < 7) await sleep(100);
    }
    assert.ok(trimmed >= 7, `history trimmed (up to ${trimmed})`);
    await restartGateway(cluster, 0);
    await waitUntil(
      () => busyStatus.length === 2,
      () => `resubscribed; ${c.stateTrail()}`,
    );
    assert.deepEqual(busyStatus[1], { channel: 'public.busy', offset: 13, recovered: false });
    assert.ok(
      c.subscribed.some((s) => s.channel === 'public.busy' && !s.recovered),
      'subscribed event too',
    );
    await publishChannel(cluster, 'public.busy', 'live');
    await waitUntil(
      () => busy.length === 2,
      () => JSON.stringify(busy),
    );
    assert.deepEqual(busy, [1, 14], 'nothing stale replayed; live continues');

    unsubscribe();
    await waitUntil(
      () => c.wire.sent.some((f) => f.type === 'unsubscribe' && f.channel === 'scores.live'),
      () => 'unsubscribe sent',
    );
    await publishChannel(cluster, 'scores.live', 5);
    await sleep(300);
    assert.deepEqual(got, [1, 2, 3, 4], 'no message after unsubscribing');
  });

  it('stops for good on 1009 (a frame the app made too big) and on 4403, without reconnecting', async () => {
    // A gateway that accepts only small frames: a mark-read of 200 ids is over it.
    await cluster.gateways[0].stop('SIGKILL');
    await restartGateway(cluster, 0, { NOTIFY_MAX_PAYLOAD_BYTES: '512' });
    try {
      const c = client('gus');
      await c.client.connect();
      const ids = Array.from({ length: 50 }, () => randomUUID());
      c.client.markRead(ids);
      await c.waitForState((s) => s.state === 'closed');
      assert.equal(c.states.at(-1)?.closeCode, 1009);
      assert.deepEqual(
        c.errors.map((e) => [e.code, e.details.closeCode]),
        [['closed', 1009]],
      );
      await sleep(500);
      assert.equal(c.wire.urls.length, 1, 'no reconnect');
    } finally {
      await cluster.gateways[0].stop('SIGKILL');
      await restartGateway(cluster, 0);
    }

    // The gateway never closes with 4403 itself (see the report); a bare server that does stands in.
    const port = await freePort();
    const server = new WebSocketServer({ host: '127.0.0.1', port });
    let connections = 0;
    server.on('connection', (ws) => {
      connections++;
      ws.close(4403, 'forbidden');
    });
    try {
      const wire: Wire = { urls: [], sent: [], sockets: [] };
      const errors: NotifyError[] = [];
      const forbidden = new NotifyClient({
        url: `ws://127.0.0.1:${port}/v1/ws`,
        token: 'not-checked',
        storage: new MemoryStorage(),
        WebSocket: spyWebSocket(wire),
        backoff: { baseMs: 50, capMs: 100 },
      });
      forbidden.on('error', (e) => void errors.push(e));
      await assert.rejects(forbidden.connect(), (err: NotifyError) => err.details.closeCode === 4403);
      assert.equal(forbidden.state, 'closed');
      assert.deepEqual(
        errors.map((e) => e.code),
        ['closed'],
      );
      await sleep(500);
      assert.equal(connections, 1, 'no reconnect after 4403');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
