import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Topology } from '@notify/amqp';
import type { MessageFrame } from '@notify/protocol';
import { metricValue, signToken, startCluster, TestClient, type TestCluster } from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('channels: authorized pub/sub with history and recovery, on two nodes', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({
      gateways: 2,
      // The churn test sends thousands of frames a second on a few connections.
      env: {
        NOTIFY_CHANNEL_HISTORY_SIZE: '5',
        NOTIFY_RETENTION_INTERVAL_MS: '200',
        NOTIFY_MAX_FRAMES_PER_SECOND: '100000',
      },
    });
  });
  after(async () => cluster?.stop());

  async function client(node: number, channels: string[] = [], user = 'viewer'): Promise<TestClient> {
    const c = await TestClient.connect(cluster.wsUrl(node, `device=${Math.random().toString(36).slice(2)}`), {
      authorization: `Bearer ${await signToken(user, { channels })}`,
    });
    await c.next('ready');
    return c;
  }

  const publish = (
    channel: string,
    data: unknown,
    idempotencyKey?: string,
  ): Promise<{ status: number; body: unknown }> =>
    cluster.publish(channel, idempotencyKey ? { data, idempotencyKey } : { data });

  async function subscribe(c: TestClient, channel: string, since?: number): Promise<void> {
    c.send(
      since === undefined
        ? { type: 'subscribe', channel, ref: channel }
        : { type: 'subscribe', channel, since, ref: channel },
    );
    const subscribed = await c.next('subscribed');
    assert.equal(subscribed.channel, channel);
  }

  async function messages(c: TestClient, count: number): Promise<MessageFrame[]> {
    const out: MessageFrame[] = [];
    for (let i = 0; i < count; i++) out.push(await c.next('message', 10_000));
    return out;
  }

  it('delivers every message once, in offset order, to subscribers on both nodes', async () => {
    const subs = [await client(0, ['news']), await client(0, ['news']), await client(1, ['news'])];
    for (const s of subs) await subscribe(s, 'news');
    for (let i = 1; i <= 10; i++) {
      const res = await publish('news', { n: i });
      assert.equal(res.status, 202);
      assert.equal((res.body as { offset: number }).offset, i);
    }
    const { channel } = await cluster.amqp();
    channel.publish(
      Topology.ingestExchange,
      'channel.news',
      Buffer.from(JSON.stringify({ data: { n: 11 } })),
      {
        contentType: 'application/json',
        deliveryMode: 2,
        messageId: 'news-11',
      },
    );
    await channel.waitForConfirms();
    for (const s of subs) {
      const got = await messages(s, 11);
      assert.deepEqual(
        got.map((m) => m.offset),
        Array.from({ length: 11 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        got.map((m) => (m.data as { n: number }).n),
        Array.from({ length: 11 }, (_, i) => i + 1),
      );
      assert.equal(got[0].channel, 'news');
      assert.match(got[0].id, /^[0-9a-f-]{36}$/);
    }
    await sleep(200);
    for (const s of subs) assert.deepEqual(s.all('message'), [], 'no duplicates');
    await Promise.all(subs.map((s) => s.close()));
  });

  it('publishes once per message per node (native topics), however many subscribe there', async () => {
    const port = cluster.gateways[0].port;
    const subs = await Promise.all(Array.from({ length: 5 }, () => client(0, [], 'fan')));
    for (const s of subs) await subscribe(s, 'public.fanout');
    const before = await metricValue(port, 'notify_gateway_channel_publishes_total');
    for (let i = 0; i < 3; i++) await publish('public.fanout', i);
    for (const s of subs) await messages(s, 3);
    assert.equal((await metricValue(port, 'notify_gateway_channel_publishes_total')) - before, 3);
    await Promise.all(subs.map((s) => s.close()));
  });

  it('recovers what a subscriber missed with since, then continues live, without gap or duplicate', async () => {
    const first = await client(1, ['scores.*']);
    await subscribe(first, 'scores.final');
    await publish('scores.final', 'a');
    const [a] = await messages(first, 1);
    await first.close();
    await publish('scores.final', 'b');
    await publish('scores.final', 'c');

    const again = await client(0, ['scores.*']);
    again.send({ type: 'subscribe', channel: 'scores.final', since: a.offset, ref: 'r' });
    const subscribed = await again.next('subscribed');
    assert.deepEqual(subscribed, {
      type: 'subscribed',
      channel: 'scores.final',
      offset: a.offset + 2,
      recovered: true,
      ref: 'r',
    });
    await publish('scores.final', 'd');
    assert.deepEqual(
      (await messages(again, 3)).map((m) => m.data),
      ['b', 'c', 'd'],
    );
    await again.close();
  });

  it('says recovered: false when the history window no longer holds what was missed', async () => {
    for (let i = 0; i < 12; i++) await publish('public.busy', i);
    let trimmed = 0;
    for (let i = 0; i < 50 && trimmed < 7; i++) {
      const rows = await cluster.db.query<{ t: number }>(
        `SELECT trimmed_offset::int AS t FROM channel_streams WHERE channel = 'public.busy'`,
      );
      trimmed = rows[0]?.t ?? 0;
      if (trimmed < 7) await sleep(100);
    }
    assert.ok(trimmed >= 7, `history trimmed to the last 5 (trimmed up to ${trimmed})`);
    const c = await client(1);
    c.send({ type: 'subscribe', channel: 'public.busy', since: 2 });
    const subscribed = await c.next('subscribed');
    assert.equal(subscribed.recovered, false);
    assert.equal(subscribed.offset, 12);
    await publish('public.busy', 'live');
    const [live] = await messages(c, 1);
    assert.equal(live.offset, 13, 'no stale replay: the client knows to refetch');
    await c.close();
  });

  it('refuses unauthorized and malformed subscriptions, and binds nothing for them', async () => {
    const c = await client(0, ['team.*', 'alerts']);
    const nodeKeys = async (): Promise<string[]> =>
      (await cluster.vhost.bindings(Topology.gatewayExchange))
        .filter(
          (b) =>
            b.destination.startsWith(`notify.gateway.${cluster.nodeId(0)}.`) &&
            b.routing_key.startsWith('channel.'),
        )
        .map((b) => b.routing_key);
    for (const channel of ['secret', 'team', 'alerts.extra', 'teams.1']) {
      c.send({ type: 'subscribe', channel, ref: channel });
      const error = await c.next('error');
      assert.deepEqual([error.code, error.ref], ['forbidden', channel]);
    }
    for (const channel of ['', 'bad channel', 'a..b', '*', 'x'.repeat(201), 42]) {
      c.send({ type: 'subscribe', channel });
      assert.equal((await c.next('error')).code, 'bad_request');
    }
    c.send({ type: 'unsubscribe', channel: 'never', ref: 'u' });
    assert.equal((await c.next('error')).code, 'not_found');
    assert.deepEqual(await nodeKeys(), []);
    assert.deepEqual(c.all('subscribed'), []);
    await subscribe(c, 'team.red');
    await subscribe(c, 'alerts');
    assert.deepEqual((await nodeKeys()).sort(), ['channel.alerts', 'channel.team.red']);
    await c.close();
  });

  it('leaves the node’s bindings as they were after 10,000 subscribe/unsubscribe cycles', async () => {
    const nodeBindings = async (): Promise<string[]> =>
      (await cluster.vhost.bindings(Topology.gatewayExchange))
        .filter((b) => b.destination.startsWith(`notify.gateway.${cluster.nodeId(1)}.`))
        .map((b) => b.routing_key)
        .sort();
    const steady = await client(1, [], 'steady');
    await subscribe(steady, 'public.steady');
    const churners = await Promise.all(Array.from({ length: 5 }, () => client(1, [], 'churner')));
    const before = await nodeBindings();
    const CHANNELS = 50;
    const CYCLES = 200;
    await Promise.all(
      Array.from({ length: CHANNELS }, async (_, i) => {
        const c = churners[i % churners.length];
        const channel = `public.churn.${i}`;
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          const ref = `${i}.${cycle}`;
          c.send({ type: 'subscribe', channel, ref });
          c.send({ type: 'unsubscribe', channel, ref });
          await c.next('unsubscribed', 10_000);
        }
      }),
    );
    for (let i = 0; i < 50 && (await nodeBindings()).join() !== before.join(); i++) await sleep(100);
    assert.deepEqual(await nodeBindings(), before);
    assert.equal(
      await metricValue(cluster.gateways[1].port, 'notify_gateway_channels'),
      1,
      'only the steady channel is live',
    );
    await Promise.all([steady, ...churners].map((c) => c.close()));
  });

  it('stores a retried channel message once (idempotency key) and validates the channel name', async () => {
    const one = await publish('public.idem', { x: 1 }, 'same-key');
    const two = await publish('public.idem', { x: 1 }, 'same-key');
    assert.deepEqual(two.body, one.body);
    assert.equal((await cluster.publish('bad..name', { data: 1 })).status, 400);
    assert.equal((await cluster.publish('ok', {})).status, 400);
  });
});
