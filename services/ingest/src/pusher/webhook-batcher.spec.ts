import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import type { PusherWebhookEvent } from '@notify/pusher';
import { WebhookBatcher, type PostWebhook } from './webhook-batcher';

const app = { id: '7', key: 'hook-key', secret: 'hook-secret-1' };
const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1' });
const occupied = (channel: string): PusherWebhookEvent => ({ name: 'channel_occupied', channel });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sent {
  headers: Record<string, string>;
  body: string;
}

function recorder(statuses: (number | Error)[]): { post: PostWebhook; sent: Sent[] } {
  const sent: Sent[] = [];
  const post: PostWebhook = (_url, headers, body) => {
    sent.push({ headers, body });
    const next = statuses.shift() ?? 200;
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { post, sent };
}

describe('WebhookBatcher', () => {
  it('batches an app’s events into one request that the pusher SDK verifies, then acknowledges them', async () => {
    const { post, sent } = recorder([]);
    const batcher = new WebhookBatcher({ url: 'http://x', post, lingerMs: 20 });
    const acked: string[] = [];
    for (const c of ['a', 'b', 'c']) batcher.add(app, occupied(c), () => acked.push(c));
    await sleep(80);
    batcher.stop();
    assert.equal(sent.length, 1);
    const webhook = sdk.webhook({ headers: sent[0].headers, rawBody: sent[0].body });
    assert.ok(webhook.isValid(), 'signed with the app secret, as the SDK checks it');
    assert.deepEqual(
      webhook.getEvents().map((e) => (e as { channel: string }).channel),
      ['a', 'b', 'c'],
    );
    assert.ok(Math.abs(webhook.getTime().getTime() - Date.now()) < 1000);
    assert.deepEqual(acked, ['a', 'b', 'c']);
  });

  it('retries with backoff until a 2xx, acknowledging nothing before, and splits at maxEvents', async () => {
    const { post, sent } = recorder([500, new Error('connection refused'), 204]);
    const batcher = new WebhookBatcher({
      url: 'http://x',
      post,
      lingerMs: 5,
      maxEvents: 2,
      backoffMs: [10, 40],
    });
    const acked: string[] = [];
    for (const c of ['a', 'b', 'c']) batcher.add(app, occupied(c), () => acked.push(c));
    await sleep(25);
    assert.deepEqual(acked, [], 'nothing acknowledged while the receiver fails');
    await sleep(200);
    batcher.stop();
    // Three tries of the first batch (a, b), then the second (c).
    const channels = sent.map((s) =>
      (JSON.parse(s.body) as { events: { channel: string }[] }).events.map((e) => e.channel),
    );
    assert.deepEqual(channels, [['a', 'b'], ['a', 'b'], ['a', 'b'], ['c']]);
    assert.deepEqual(acked, ['a', 'b', 'c']);
  });
});

/** Polls `check` until it holds; fails after `timeoutMs` (generous: the machine may be loaded). */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(5);
  }
}

const channelsOf = (body: string): string[] =>
  (JSON.parse(body) as { events: { channel: string }[] }).events.map((e) => e.channel);

describe('WebhookBatcher when the consumer channel closes', () => {
  it('drops the closed channel’s events unacknowledged, so only the redelivered copies are sent', async () => {
    let receiverUp = false;
    const sent: { channels: string[]; status: number }[] = [];
    const post: PostWebhook = (_url, _headers, body) => {
      const status = receiverUp ? 200 : 503;
      sent.push({ channels: channelsOf(body), status });
      return Promise.resolve(status);
    };
    const batcher = new WebhookBatcher({ url: 'http://x', post, lingerMs: 5, backoffMs: [10, 40] });
    const oldChannel = {};
    const newChannel = {};
    const ackedOld: string[] = [];
    const ackedNew: string[] = [];
    for (const c of ['a', 'b', 'c']) batcher.add(app, occupied(c), () => ackedOld.push(c), oldChannel);
    await until('a refused request', () => sent.length >= 1);

    // The channel closes; the broker redelivers the same events on the next one.
    const dropped = batcher.drop(oldChannel);
    for (const c of ['a', 'b', 'c']) batcher.add(app, occupied(c), () => ackedNew.push(c), newChannel);
    receiverUp = true;
    await until('the redelivered events acknowledged', () => ackedNew.length === 3);
    batcher.stop();

    assert.deepEqual(
      sent.filter((s) => s.status === 200).flatMap((s) => s.channels),
      ['a', 'b', 'c'],
      'each event delivered once',
    );
    assert.deepEqual(ackedOld, [], 'nothing acknowledged on the closed channel');
    assert.deepEqual(ackedNew, ['a', 'b', 'c']);
    assert.equal(dropped, 3);
    assert.equal(batcher.drop(newChannel), 0, 'nothing left held');
  });

  /**
   * A batcher whose receiver answers when the test says so, holding the events `a` and `b` of a
   * channel that closes while their first request is on its way; the broker then redelivers `events`.
   */
  async function requestOnItsWayWhenTheChannelCloses(events: string[]) {
    const answers: ((status: number) => void)[] = [];
    const sent: string[][] = [];
    const post: PostWebhook = (_url, _headers, body) => {
      sent.push(channelsOf(body));
      return new Promise<number>((resolve) => answers.push(resolve));
    };
    const batcher = new WebhookBatcher({ url: 'http://x', post, lingerMs: 5, backoffMs: [10, 40] });
    const oldChannel = {};
    const acked: string[] = [];
    for (const c of ['a', 'b']) batcher.add(app, occupied(c), () => acked.push(`old ${c}`), oldChannel);
    await until('a request on its way', () => answers.length === 1);
    const dropped = batcher.drop(oldChannel);
    const newChannel = {};
    for (const c of events) batcher.add(app, occupied(c), () => acked.push(`new ${c}`), newChannel);
    return { batcher, answers, sent, acked, dropped };
  }

  it('keeps the redelivered copies when a request of the closed channel’s events fails afterwards', async () => {
    const { batcher, answers, sent, acked, dropped } = await requestOnItsWayWhenTheChannelCloses([
      'a',
      'b',
      'c',
    ]);
    // The request of the dropped events fails: they are not tried again, the redelivered ones are.
    answers[0](503);
    await until('a second request', () => answers.length === 2);
    assert.deepEqual(sent[1], ['a', 'b', 'c']);
    answers[1](200);
    await until('the redelivered events acknowledged', () => acked.length === 3);
    batcher.stop();
    assert.deepEqual(acked, ['new a', 'new b', 'new c']);
    assert.equal(sent.length, 2);
    assert.equal(dropped, 2);
  });

  it('a request that succeeds after its channel closed takes none of the redelivered copies with it', async () => {
    const { batcher, answers, sent, acked } = await requestOnItsWayWhenTheChannelCloses(['a', 'b']);
    // Its events are acknowledged (on the dead channel: a no-op in the consumer) and the redelivered
    // copies still sent: a request on its way is not recalled (webhooks are at least once).
    answers[0](200);
    await until('a second request', () => answers.length === 2);
    answers[1](200);
    await until('the redelivered events acknowledged', () => acked.length === 4);
    batcher.stop();
    assert.deepEqual(sent, [
      ['a', 'b'],
      ['a', 'b'],
    ]);
    assert.deepEqual(acked, ['old a', 'old b', 'new a', 'new b']);
  });
});
