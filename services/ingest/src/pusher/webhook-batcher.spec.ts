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
