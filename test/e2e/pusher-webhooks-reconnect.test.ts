import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PUSHER_WEBHOOK_QUEUE, PUSHER_WEBHOOK_QUEUE_OPTIONS } from '@notify/pusher';
import {
  startCluster,
  startWebhookReceiver,
  TEST_PUSHER_APP,
  TEST_PUSHER_APPS,
  type TestCluster,
  waitFor,
  type WebhookReceiver,
} from '@notify/testing';

interface Received {
  channels: string[];
  status: number;
}

const EVENTS = 5;

/**
 * Webhook events wait in ingest, unacknowledged, until the receiver takes them. When the consumer's
 * broker connection drops meanwhile, the broker redelivers them on the new channel: ingest must let
 * go of the copies of the old channel, or it holds both and POSTs every event twice. Only this test's
 * vhost is touched: the consumer's connection is closed through the management API.
 */
describe('Pusher webhooks when the consumer connection drops while the receiver fails', () => {
  let cluster: TestCluster;
  let receiver: WebhookReceiver;
  const received: Received[] = [];
  let failing = true;

  before(async () => {
    receiver = await startWebhookReceiver((_headers, body) => {
      const status = failing ? 503 : 200;
      const { events } = JSON.parse(body) as { events: { channel: string }[] };
      received.push({ channels: events.map((e) => e.channel), status });
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

  it('POSTs each event once, from the redelivered copies', { timeout: 180_000 }, async () => {
    const { channel } = await cluster.amqp();
    await channel.assertQueue(PUSHER_WEBHOOK_QUEUE, PUSHER_WEBHOOK_QUEUE_OPTIONS);
    const sent = Array.from({ length: EVENTS }, (_, i) => `room-${i}`);
    for (const name of sent)
      channel.sendToQueue(
        PUSHER_WEBHOOK_QUEUE,
        Buffer.from(
          JSON.stringify({ appId: TEST_PUSHER_APP.id, event: { name: 'channel_occupied', channel: name } }),
        ),
        { persistent: true, contentType: 'application/json' },
      );
    await channel.waitForConfirms();
    await waitFor('a refused webhook request', () => received.length >= 1, 60_000);

    const first = await cluster.vhost.consumerConnection(PUSHER_WEBHOOK_QUEUE);
    await cluster.vhost.closeConnection(first);
    await cluster.vhost.consumerConnection(PUSHER_WEBHOOK_QUEUE, (c) => c !== first);
    // One request at a time per app: a request that arrives now was sent after the one before it was
    // answered (503), so once the receiver takes requests, none sent before the reconnect is among them.
    const before = received.length;
    await waitFor('a webhook request after the reconnect', () => received.length > before, 60_000);
    failing = false;

    const delivered = (): string[] => received.filter((r) => r.status === 200).flatMap((r) => r.channels);
    await waitFor('the events delivered', () => delivered().length >= EVENTS, 60_000);
    // The redelivered copies are acknowledged only once sent; a copy of the old channel, still held,
    // is sent before them (one queue per app, in order).
    await waitFor(
      'every webhook message acknowledged',
      async () => {
        const queue = (await cluster.vhost.queue(PUSHER_WEBHOOK_QUEUE)) as {
          messages?: number;
          messages_unacknowledged?: number;
        } | null;
        return queue?.messages === 0 && queue.messages_unacknowledged === 0;
      },
      60_000,
    );
    assert.deepEqual(delivered(), sent, `each event POSTed once, in order: ${JSON.stringify(received)}`);
  });
});
