import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect } from 'amqplib';
import {
  createTestDatabase,
  createTestVhost,
  freePort,
  runToExit,
  signToken,
  spawnService,
  TestClient,
  TEST_API_KEY,
  TEST_JWT_SECRET,
} from '@notify/testing';

describe('start-up checks', () => {
  for (const [name, env, expected] of [
    [
      'gateway',
      { NOTIFY_GATEWAY_PORT: 'eighty' },
      /^invalid configuration: NOTIFY_GATEWAY_PORT must be an integer \(got "eighty"\)$/,
    ],
    [
      'gateway',
      { NOTIFY_JWT_SECRET: 'short' },
      /^invalid configuration: NOTIFY_JWT_SECRET must be at least 32 characters/,
    ],
    [
      'gateway',
      { NODE_ENV: 'production', NOTIFY_JWT_SECRET: '' },
      /^invalid configuration: NOTIFY_JWT_SECRET is required when NODE_ENV=production$/,
    ],
    // The dev values are public (README, npm start): production refuses them even when set explicitly.
    [
      'gateway',
      { NODE_ENV: 'production', NOTIFY_JWT_SECRET: 'dev-only-jwt-secret-change-me-in-production' },
      /^invalid configuration: NOTIFY_JWT_SECRET is the public development value, refused when NODE_ENV=production: set a secret of your own$/,
    ],
    [
      'ingest',
      { NODE_ENV: 'production', NOTIFY_API_KEYS: 'dev-producer-key' },
      /^invalid configuration: NOTIFY_API_KEYS is the public development value, refused when NODE_ENV=production: set a secret of your own$/,
    ],
    [
      'ingest',
      { NODE_ENV: 'production', NOTIFY_API_KEYS: 'an-own-producer-key-of-enough-length,dev-producer-key' },
      /^invalid configuration: NOTIFY_API_KEYS is the public development value, refused when NODE_ENV=production/,
    ],
    // The app npm start configures (its secret is printed there) is refused the same way, on both services.
    [
      'ingest',
      {
        NODE_ENV: 'production',
        NOTIFY_API_KEYS: 'an-own-producer-key-of-enough-length',
        NOTIFY_PUSHER_APPS: 'app-1:key-1:an-own-pusher-secret,dev-app:dev-key:dev-pusher-secret',
      },
      /^invalid configuration: NOTIFY_PUSHER_APPS is the public development value, refused when NODE_ENV=production/,
    ],
    [
      'gateway',
      {
        NODE_ENV: 'production',
        NOTIFY_JWT_SECRET: 'an-own-jwt-secret-of-at-least-32-characters',
        NOTIFY_PUSHER_APPS: 'my-app:dev-key:dev-pusher-secret',
      },
      /^invalid configuration: NOTIFY_PUSHER_APPS is the public development value, refused when NODE_ENV=production/,
    ],
    [
      'ingest',
      { NOTIFY_AMQP_URL: 'http://nope' },
      /^invalid configuration: NOTIFY_AMQP_URL must use amqp: or amqps: \(got "http:"\)$/,
    ],
    [
      'ingest',
      { NOTIFY_INGEST_PORT: '70000' },
      /^invalid configuration: NOTIFY_INGEST_PORT must be between 0 and 65535 \(got 70000\)$/,
    ],
    [
      'ingest',
      { NODE_ENV: 'production', NOTIFY_API_KEYS: '' },
      /^invalid configuration: NOTIFY_API_KEYS is required when NODE_ENV=production$/,
    ],
    [
      'ingest',
      { NODE_ENV: 'production', NOTIFY_API_KEYS: 'REPLACE_ME' },
      /^invalid configuration: NOTIFY_API_KEYS keys must be at least 24 characters in production$/,
    ],
  ] as const) {
    it(`${name} with ${JSON.stringify(env)} prints one clear line and exits 1`, async () => {
      const { code, output } = await runToExit(name, env);
      assert.equal(code, 1);
      assert.equal(output.split('\n').length, 1, output);
      assert.match(output, expected);
    });
  }

  it('npm start names each unreachable dependency and how to start it, one line each', async () => {
    const root = join(__dirname, '..', '..', '..');
    const child = spawn(process.execPath, [join(root, 'scripts', 'start-cluster.mjs')], {
      cwd: root,
      env: {
        ...process.env,
        NOTIFY_AMQP_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}`,
        NOTIFY_DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/notify`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    const lines = err.trim().split('\n');
    assert.equal(lines.length, 2, err);
    assert.match(
      lines[0],
      /^RabbitMQ is not reachable at 127\.0\.0\.1:\d+: start it with 'rabbitmq-server -detached' \(Debian: apt install rabbitmq-server\) or 'docker compose up -d rabbitmq'$/,
    );
    assert.match(
      lines[1],
      /^PostgreSQL is not reachable at 127\.0\.0\.1:\d+: start it with .*apt install postgresql.*docker compose up -d postgres'$/,
    );
  });

  it('the gateway refuses to start on the uWebSockets.js JavaScript fallback', async () => {
    const { code, output } = await runToExit('gateway', { UWS_USE_FALLBACK: '1' });
    assert.equal(code, 1);
    assert.match(output, /native binary did not load.*refuses to start/);
  });

  it('ingest refuses to start, with the broker’s reason, when notify.ingest exists with other arguments', async () => {
    const [vhost, db] = await Promise.all([createTestVhost(), createTestDatabase()]);
    try {
      // An operator (or an old version) left a classic queue where ingest declares a quorum queue.
      const connection = await connect(vhost.url);
      await (await connection.createChannel()).assertQueue('notify.ingest', { durable: true });
      await connection.close();
      const { code, output } = await runToExit('ingest', {
        NOTIFY_AMQP_URL: vhost.url,
        NOTIFY_DATABASE_URL: db.url,
        NOTIFY_API_KEYS: TEST_API_KEY,
      });
      assert.equal(code, 1, output);
      assert.match(
        output,
        /ingest failed to start: RabbitMQ refused ingest's topology \(.*PRECONDITION_FAILED.*'notify.ingest'/,
      );
      assert.doesNotMatch(output, /Emitted 'error' event/, 'no crash with a stack trace');
    } finally {
      await Promise.all([vhost.drop(), db.drop()]);
    }
  });

  it('a gateway whose broker is unreachable stays up, holds new sockets without ready, and is not ready', async () => {
    const db = await createTestDatabase();
    const port = await freePort();
    const gateway = spawnService('gateway', port, {
      NOTIFY_GATEWAY_PORT: String(port),
      NOTIFY_DATABASE_URL: db.url,
      NOTIFY_AMQP_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}`,
      NOTIFY_JWT_SECRET: TEST_JWT_SECRET,
    });
    try {
      let health = 0;
      for (let i = 0; i < 100 && health !== 200; i++) {
        health = await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.status,
          () => 0,
        );
        if (health !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(health, 200);
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/v1/ws?device=early`, {
        authorization: `Bearer ${await signToken('early-user')}`,
      });
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(client.frames, [], 'no ready before the user is bound');
      assert.equal(gateway.child.exitCode, null, gateway.output());
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(((await ready.json()) as { checks: { rabbitmq: boolean } }).checks.rabbitmq, false);
      await client.close();
    } finally {
      await gateway.stop('SIGKILL');
      await db.drop();
    }
  });
});
