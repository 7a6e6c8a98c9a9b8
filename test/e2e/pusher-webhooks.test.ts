import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import Pusher from 'pusher';
import { PUSHER_WEBHOOK_QUEUE, PUSHER_WEBHOOK_QUEUE_OPTIONS } from '@notify/pusher';
import {
  eventually,
  OTHER_PUSHER_APP,
  startCluster,
  startWebhookReceiver,
  TEST_PUSHER_APP,
  TEST_PUSHER_APPS,
  type TestCluster,
  type WebhookReceiver,
} from '@notify/testing';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * Webhooks end to end: events published to notify.pusher.webhooks (as gateways publish them) reach a
 * local receiver batched per app, signed with the app's secret (checked with the pusher SDK), and
 * are retried while the receiver fails.
 */
describe('Pusher webhooks from ingest', () => {
  let cluster: TestCluster;
  let receiver: WebhookReceiver;
  const received: Received[] = [];
  let failuresLeft = 2;

  before(async () => {
    receiver = await startWebhookReceiver((headers, body) => {
      const status = failuresLeft-- > 0 ? 503 : 200;
      received.push({ headers, body, status });
      return status;
    });
    cluster = await startCluster({
      gateways: 0,
      env: { NOTIFY_PUSHER_APPS: TEST_PUSHER_APPS, NOTIFY_PUSHER_WEBHOOK_URL: receiver.url },
    });
  });
  after(async () => {
    await cluster?.stop();
    await receiver?.close();
  });

  it('POSTs the events of each app, batched and signed, retrying until the receiver takes them', async () => {
    const { channel } = await cluster.amqp();
    // Declared as a gateway declares it: the same options as ingest's, or the broker refuses one of them.
    await channel.assertQueue(PUSHER_WEBHOOK_QUEUE, PUSHER_WEBHOOK_QUEUE_OPTIONS);
    const publish = (message: unknown): void =>
      void channel.sendToQueue(
        PUSHER_WEBHOOK_QUEUE,
        Buffer.from(typeof message === 'string' ? message : JSON.stringify(message)),
        {
          persistent: true,
          contentType: 'application/json',
        },
      );
    const app1 = [
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'u1' },
      {
        name: 'client_event',
        channel: 'private-chat',
        event: 'client-typing',
        data: '{}',
        socket_id: '1.2',
        user_id: 'u1',
      },
      { name: 'channel_vacated', channel: 'news' },
    ];
    publish('not json');
    publish({ appId: '99', event: { name: 'channel_occupied', channel: 'x' } });
    publish({ appId: '1', event: { name: 'member_added', channel: 'presence-room' } });
    for (const event of app1) publish({ appId: TEST_PUSHER_APP.id, event });
    publish({
      appId: OTHER_PUSHER_APP.id,
      event: { name: 'member_removed', channel: 'presence-x', user_id: 'u2' },
    });
    await channel.waitForConfirms();

    const delivered = (): Received[] => received.filter((r) => r.status === 200);
    await eventually(
      received,
      () => delivered().flatMap((r) => (JSON.parse(r.body) as { events: unknown[] }).events).length >= 5,
      15_000,
    );
    assert.ok(
      received.filter((r) => r.status === 503).length === 2,
      'the first two attempts failed and were retried',
    );

    const byKey = new Map<string, unknown[]>();
    for (const r of delivered()) {
      const key = String(r.headers['x-pusher-key']);
      const app = [TEST_PUSHER_APP, OTHER_PUSHER_APP].find((a) => a.key === key);
      assert.ok(app, `X-Pusher-Key ${key}`);
      const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1' });
      const webhook = sdk.webhook({ headers: r.headers as Record<string, string>, rawBody: r.body });
      assert.ok(webhook.isValid(), 'X-Pusher-Signature is the HMAC of the body with the app secret');
      byKey.set(key, [...(byKey.get(key) ?? []), ...webhook.getEvents()]);
    }
    assert.deepEqual(byKey.get(TEST_PUSHER_APP.key), app1, 'in order, nothing malformed');
    assert.deepEqual(byKey.get(OTHER_PUSHER_APP.key), [
      { name: 'member_removed', channel: 'presence-x', user_id: 'u2' },
    ]);
    await new Promise((r) => setTimeout(r, 300));
    const { messageCount } = await channel.checkQueue(PUSHER_WEBHOOK_QUEUE);
    assert.equal(messageCount, 0, 'every message acknowledged, the malformed ones dropped');
  });
});
