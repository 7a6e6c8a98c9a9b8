import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  eventually,
  startCluster,
  tapDelivery,
  TEST_API_KEY,
  TEST_JWT_SECRET,
  TEST_PUSHER_APP,
  TEST_PUSHER_APPS,
  TestClient,
  type TappedDelivery,
  type TestCluster,
} from '@notify/testing';

const run = promisify(execFile);
const EXAMPLES = join(__dirname, '..', '..', '..', 'examples', 'php');

/**
 * The PHP producer examples (examples/php), run with `php` against a real cluster: a notification
 * published with php-amqplib and one posted over HTTP each reach a v1 client that connected with a
 * token minted in PHP; a Pusher event triggered from PHP, signed by hand, is stored and published.
 */
describe('PHP producers (examples/php)', () => {
  let cluster: TestCluster;
  let env: NodeJS.ProcessEnv;
  let deliveries: TappedDelivery[];

  before(async () => {
    cluster = await startCluster({ gateways: 1, env: { NOTIFY_PUSHER_APPS: TEST_PUSHER_APPS } });
    env = {
      PATH: process.env.PATH,
      NOTIFY_AMQP_URL: cluster.vhost.url,
      NOTIFY_INGEST_URL: cluster.ingestUrl,
      NOTIFY_API_KEY: TEST_API_KEY,
      NOTIFY_JWT_SECRET: TEST_JWT_SECRET,
      PUSHER_APP_ID: TEST_PUSHER_APP.id,
      PUSHER_APP_KEY: TEST_PUSHER_APP.key,
      PUSHER_APP_SECRET: TEST_PUSHER_APP.secret,
    };
    deliveries = await tapDelivery((await cluster.amqp()).channel);
  });
  after(async () => cluster?.stop());

  const php = async (script: string, ...args: string[]): Promise<string> =>
    (await run('php', [join(EXAMPLES, script), ...args], { env, timeout: 20_000 })).stdout.trim();

  it('delivers notifications published over AMQP and over HTTP to a client holding a PHP-minted token', async () => {
    const token = await php('mint-jwt.php', 'php-user');
    const client = await TestClient.connect(cluster.wsUrl(0, 'device=php'), {
      authorization: `Bearer ${token}`,
    });
    try {
      assert.equal((await client.next('ready')).userId, 'php-user');

      assert.match(
        await php('publish-amqp.php', 'php-user', 'order.shipped', 'Over AMQP', 'php-amqp-1'),
        /^confirmed php-amqp-1$/,
      );
      const viaAmqp = await client.next('notification', 10_000);
      assert.deepEqual(
        [viaAmqp.seq, viaAmqp.topic, viaAmqp.title, viaAmqp.data],
        [1, 'order.shipped', 'Over AMQP', { via: 'php-amqplib' }],
      );
      // The same message-id again: the broker confirms, ingest stores nothing new.
      await php('publish-amqp.php', 'php-user', 'order.shipped', 'Over AMQP', 'php-amqp-1');

      assert.match(
        await php('publish-http.php', 'php-user', 'order.paid', 'Over HTTP'),
        /^202 \{"results":\[\{"userId":"php-user","id":"[^"]+","seq":2\}\]\}$/,
      );
      const viaHttp = await client.next('notification', 10_000);
      assert.deepEqual(
        [viaHttp.seq, viaHttp.topic, viaHttp.title, viaHttp.data],
        [2, 'order.paid', 'Over HTTP', { via: 'php-http' }],
      );
      const rows = await cluster.db.query<{ n: string }>(
        "SELECT count(*) AS n FROM notifications WHERE user_id = 'php-user'",
      );
      assert.equal(Number(rows[0]?.n), 2, 'the repeated AMQP message was not stored twice');
    } finally {
      await client.close();
    }
  });

  it('triggers a Pusher event from PHP, signed by hand: stored and published on notify.delivery', async () => {
    assert.equal(
      await php('pusher-trigger.php', 'php-channel', 'my-event', '{"message":"hello"}', '42.7'),
      '200 {}',
    );
    const rows = await cluster.db.query<{ offset: number; data: unknown }>(
      `SELECT "offset"::int AS "offset", data FROM channel_messages WHERE channel = 'pusher:1:php-channel'`,
    );
    assert.deepEqual(rows, [
      { offset: 1, data: { event: 'my-event', data: '{"message":"hello"}', exclude: '42.7' } },
    ]);
    await eventually(deliveries, (d) => d.some((m) => m.routingKey === 'channel.pusher:1:php-channel'));
    const message = deliveries.find((m) => m.routingKey === 'channel.pusher:1:php-channel');
    assert.deepEqual((JSON.parse(message?.body ?? '{}') as { data: unknown }).data, {
      event: 'my-event',
      data: '{"message":"hello"}',
      exclude: '42.7',
    });
    // A wrong secret is refused, and the script says so.
    await assert.rejects(
      run('php', [join(EXAMPLES, 'pusher-trigger.php'), 'php-channel', 'e', '{}'], {
        env: { ...env, PUSHER_APP_SECRET: 'not-the-secret' },
      }),
      (err: { stdout: string }) => /^401 invalid signature/.test(err.stdout),
    );
  });
});
