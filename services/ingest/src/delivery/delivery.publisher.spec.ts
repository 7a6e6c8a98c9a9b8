import { afterEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { Options } from 'amqplib';
import { DeliveryHeader, stampNow } from '@notify/amqp';
import { storedNotification } from '@notify/testing';
import type { StoredChannelMessage } from '@notify/store';
import { IngestMetrics } from '../metrics/ingest-metrics';
import { DeliveryPublisher, MAX_PENDING_BYTES, type DeliveryChannel } from './delivery.publisher';

/** A confirm channel that is down (every publish unconfirmed) until connect() or for some keys. */
class FakeChannel implements DeliveryChannel {
  up = false;
  /** Routing keys the broker does not confirm even while up. */
  readonly refused = new Set<string>();
  readonly confirmed: { routingKey: string; headers: Options.Publish['headers'] }[] = [];
  private readonly onConnect: (() => void)[] = [];

  on(_event: 'connect', listener: () => void): this {
    this.onConnect.push(listener);
    return this;
  }

  publish(
    _exchange: string,
    routingKey: string,
    _content: Buffer,
    options: Options.Publish,
  ): Promise<boolean> {
    if (!this.up || this.refused.has(routingKey)) return Promise.reject(new Error('publish timeout'));
    this.confirmed.push({ routingKey, headers: options.headers });
    return Promise.resolve(true);
  }

  connect(): void {
    this.up = true;
    for (const listener of this.onConnect) listener();
  }
}

const notification = storedNotification;
const message: StoredChannelMessage = {
  channel: 'news',
  offset: 7,
  id: 'm7',
  data: {},
  createdAt: new Date(0),
};

const failures = async (metrics: IngestMetrics): Promise<number> =>
  (await metrics.publishFailures.get()).values[0]?.value ?? 0;
/** Lets the retry started by an event or a timer run to its end. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const STAMPS = { acceptedAt: 1, committedAt: 2 };

describe('DeliveryPublisher pending retries', () => {
  const publishers: DeliveryPublisher[] = [];
  const start = (channel: FakeChannel, metrics = new IngestMetrics()): DeliveryPublisher => {
    const publisher = new DeliveryPublisher(channel, metrics);
    publishers.push(publisher);
    return publisher;
  };
  afterEach(() => {
    for (const p of publishers.splice(0)) p.onApplicationShutdown();
    mock.timers.reset();
  });

  it('answers without throwing while the channel is down, counts the failures and keeps the deliveries', async () => {
    const metrics = new IngestMetrics();
    const publisher = start(new FakeChannel(), metrics);
    assert.equal(await publisher.publish([notification('u1', 1), notification('u2', 1)], STAMPS), 0);
    assert.equal(await publisher.publishChannelMessage(message, STAMPS), 0);
    assert.equal(publisher.pendingCount, 3);
    assert.equal(await failures(metrics), 3);
  });

  it('publishes the kept deliveries again, in order and unchanged, when the channel connects', async () => {
    const channel = new FakeChannel();
    const publisher = start(channel);
    const firstTry = stampNow();
    await publisher.publish([notification('u1', 1), notification('u1', 2)], STAMPS);
    await publisher.publishChannelMessage(message, STAMPS);
    const beforeRetry = stampNow();
    channel.connect();
    await settle();
    // The stage stamps are the first attempt's: the broker stage then includes the wait for the retry.
    for (const c of channel.confirmed) {
      assert.equal(c.headers?.[DeliveryHeader.committedAt], STAMPS.committedAt);
      const publishedAt = Number(c.headers?.[DeliveryHeader.publishedAt]);
      assert.ok(publishedAt >= firstTry && publishedAt <= beforeRetry, 'stamped at the first try');
    }
    assert.deepEqual(
      channel.confirmed.map((c) => c.routingKey),
      ['user.u1', 'user.u1', 'channel.news'],
    );
    assert.deepEqual(
      channel.confirmed.map((c) => c.headers?.[DeliveryHeader.seq] ?? c.headers?.[DeliveryHeader.offset]),
      [1, 2, 7],
    );
    assert.equal(publisher.pendingCount, 0);
  });

  it('keeps for the next try only what is still unconfirmed', async () => {
    const channel = new FakeChannel();
    const publisher = start(channel);
    await publisher.publish([notification('u1', 1), notification('u2', 1)], STAMPS);
    channel.refused.add('user.u2');
    channel.connect();
    await settle();
    assert.deepEqual(
      channel.confirmed.map((c) => c.routingKey),
      ['user.u1'],
    );
    assert.equal(publisher.pendingCount, 1);
  });

  it('keeps nothing when the broker confirms', async () => {
    const channel = new FakeChannel();
    channel.up = true;
    const publisher = start(channel);
    assert.equal(await publisher.publish([notification('u1', 1)], STAMPS), 1);
    assert.equal(publisher.pendingCount, 0);
  });

  it('tries again every 5 s without a reconnect (the channel came back without a connect event)', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const channel = new FakeChannel();
    const publisher = start(channel);
    await publisher.publish([notification('u1', 1)], STAMPS);
    channel.up = true;
    mock.timers.tick(4_999);
    await settle();
    assert.equal(publisher.pendingCount, 1);
    mock.timers.tick(1);
    await settle();
    assert.equal(publisher.pendingCount, 0);
    assert.deepEqual(
      channel.confirmed.map((c) => c.routingKey),
      ['user.u1'],
    );
  });

  it('keeps at most 100,000 deliveries, dropping the oldest (the store still has them)', async () => {
    const channel = new FakeChannel();
    const publisher = start(channel);
    const batch = Array.from({ length: 100_001 }, (_, i) => notification('u1', i + 1));
    await publisher.publish(batch, STAMPS);
    assert.equal(publisher.pendingCount, 100_000);
    channel.connect();
    await settle();
    assert.equal(channel.confirmed[0].headers?.[DeliveryHeader.seq], 2);
    assert.equal(channel.confirmed.length, 100_000);
  });

  it('keeps at most MAX_PENDING_BYTES of frames, dropping the oldest', async () => {
    const channel = new FakeChannel();
    const publisher = start(channel);
    const big = (seq: number) => ({ ...notification('u1', seq), body: 'x'.repeat(1024 * 1024) });
    for (let seq = 1; seq <= 70; seq++) await publisher.publish([big(seq)], STAMPS);
    const kept = publisher.pendingCount;
    const mib = MAX_PENDING_BYTES / (1024 * 1024);
    assert.ok(kept < mib && kept >= mib - 4, `${kept} frames of just over 1 MiB kept under ${mib} MiB`);
    channel.connect();
    await settle();
    const seqs = channel.confirmed.map((c) => c.headers?.[DeliveryHeader.seq]);
    assert.deepEqual(
      seqs,
      Array.from({ length: kept }, (_, i) => 70 - kept + 1 + i),
      'the newest, in order',
    );
  });
});
