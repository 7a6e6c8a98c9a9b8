import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createTestDatabase,
  freePort,
  signToken,
  startCluster,
  TestClient,
  TEST_API_KEY,
  type TestCluster,
} from '@notify/testing';

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'scripts', 'notify-cli.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `notify` as an operator would (the package's bin), with `env` on top of a clean environment. */
function notify(args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const COMMANDS = ['send', 'publish', 'inbox', 'nodes', 'migrate', 'retention', 'dlq tail', 'dlq replay'];

describe('notify (the admin CLI) against the real services', () => {
  let cluster: TestCluster;
  let env: Record<string, string>;
  const run = (...args: string[]): Promise<Run> => notify(args, env);
  const json = async (...args: string[]): Promise<Record<string, unknown>> => {
    const r = await run(...args, '--json');
    assert.equal(r.code, 0, `notify ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  before(async () => {
    cluster = await startCluster({ gateways: 1, env: { NOTIFY_ACK_FLUSH_MS: '50' } });
    env = {
      NOTIFY_DATABASE_URL: cluster.db.url,
      NOTIFY_AMQP_URL: cluster.vhost.url,
      NOTIFY_INGEST_URL: cluster.ingestUrl,
      NOTIFY_API_KEY: TEST_API_KEY,
    };
  });
  after(() => cluster?.stop());

  it('send, then inbox shows the notification, the unread count and the device cursor; nodes shows the connection', async () => {
    const client = await TestClient.connect(
      cluster.wsUrl(0, `device=phone&token=${await signToken('cli-user')}`),
    );
    await client.next('ready');
    const sent = await json(
      'send',
      '--user',
      'cli-user',
      '--topic',
      'cli.test',
      '--title',
      'Hello',
      '--data',
      '{"n":1}',
    );
    assert.deepEqual(
      (sent.results as { userId: string; seq: number }[]).map((r) => [r.userId, r.seq]),
      [['cli-user', 1]],
    );
    await json('send', '--user', 'cli-user', '--topic', 'cli.test', '--title', 'Second');
    assert.equal((await client.next('notification')).seq, 1);
    assert.equal((await client.next('notification')).seq, 2);
    client.send({ type: 'ack', seq: 1 });

    let inbox: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      inbox = await json('inbox', 'cli-user');
      if ((inbox.cursors as unknown[]).length > 0) break;
      await sleep(100);
    }
    assert.equal(inbox.lastSeq, 2);
    assert.equal(inbox.unread, 2);
    assert.deepEqual(
      (inbox.notifications as { seq: number; title: string }[]).map((n) => [n.seq, n.title]),
      [
        [2, 'Second'],
        [1, 'Hello'],
      ],
    );
    assert.deepEqual(
      (inbox.cursors as { deviceId: string; ackedSeq: number }[]).map((c) => [c.deviceId, c.ackedSeq]),
      [['phone', 1]],
    );
    assert.deepEqual(
      (inbox.connections as { deviceId: string }[]).map((c) => c.deviceId),
      ['phone'],
    );

    const text = await run('inbox', 'cli-user');
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^user cli-user: last seq 2, unread 2/);
    assert.match(text.stdout, /phone\s+1\s+1\s/, 'the cursor line: device, acked seq, behind');

    const nodes = (await json('nodes', '--connections')).nodes as {
      nodeId: string;
      alive: boolean;
      connections: number;
      connectionList: { userId: string }[];
    }[];
    const node = nodes.find((n) => n.nodeId === cluster.nodeId(0));
    assert.ok(node, `node ${cluster.nodeId(0)} listed: ${JSON.stringify(nodes)}`);
    assert.equal(node.alive, true);
    assert.equal(node.connections, 1);
    assert.deepEqual(
      node.connectionList.map((c) => c.userId),
      ['cli-user'],
    );
    await client.close();
  });

  it('publish sends a channel message', async () => {
    const first = await json('publish', 'public.cli', '--data', '{"status":"ok"}');
    const second = await json('publish', 'public.cli', '--data', '"two"');
    assert.equal(first.offset, 1);
    assert.equal(second.offset, 2);
  });

  it('dlq tail shows refused messages with their reason and loses none; dlq replay republishes them and removes them once confirmed', async () => {
    const { connection, channel } = await cluster.amqp();
    // Refused by ingest: not JSON.
    channel.publish('notify.ingest', 'notification.bad', Buffer.from('{"userId": not json'), {
      contentType: 'application/json',
      persistent: true,
      messageId: 'bad-1',
    });
    // A good notification a bug once refused: put straight into the dead letters with a reason.
    channel.publish(
      'notify.ingest.dlx',
      'notification.fixed',
      Buffer.from(JSON.stringify({ userId: 'dlq-user', topic: 'fixed.topic', title: 'replayed' })),
      {
        contentType: 'application/json',
        persistent: true,
        messageId: 'fixed-1',
        headers: { 'x-notify-error': 'a bug since fixed', 'x-notify-routing-key': 'notification.fixed' },
      },
    );
    await channel.waitForConfirms();
    await connection.close();

    let tail: Record<string, unknown> = {};
    for (let i = 0; i < 50 && tail.total !== 2; i++) {
      tail = await json('dlq', 'tail');
      if (tail.total !== 2) await sleep(100);
    }
    assert.equal(tail.total, 2);
    const reasons = new Map(
      (tail.messages as { routingKey: string; reason: string }[]).map((m) => [m.routingKey, m.reason]),
    );
    assert.equal(reasons.get('notification.fixed'), 'a bug since fixed');
    assert.match(reasons.get('notification.bad') ?? '', /JSON/);
    // A peek gives them back: the same two, in the same order.
    const again = await json('dlq', 'tail', '--limit', '5');
    assert.equal(again.total, 2);
    assert.deepEqual(
      (again.messages as { routingKey: string }[]).map((m) => m.routingKey),
      (tail.messages as { routingKey: string }[]).map((m) => m.routingKey),
    );
    const text = await run('dlq', 'tail');
    assert.match(text.stdout, /^2 message\(s\) in notify\.ingest\.invalid/);

    const replay = await json('dlq', 'replay');
    assert.equal(replay.replayed, 2);
    // The fixed one is stored; the bad one is refused again and back in the dead letters, once.
    let inbox: Record<string, unknown> = {};
    for (let i = 0; i < 50 && inbox.lastSeq !== 1; i++) {
      inbox = await json('inbox', 'dlq-user');
      if (inbox.lastSeq !== 1) await sleep(100);
    }
    assert.equal(inbox.lastSeq, 1);
    assert.equal((inbox.notifications as { title: string }[])[0]?.title, 'replayed');
    let after: Record<string, unknown> = {};
    for (let i = 0; i < 50 && after.total !== 1; i++) {
      after = await json('dlq', 'tail');
      if (after.total !== 1) await sleep(100);
    }
    assert.equal(after.total, 1);
    assert.equal((after.messages as { routingKey: string }[])[0]?.routingKey, 'notification.bad');
  });

  it('retention runs once; migrate applies the schema to a new database and then finds it up to date', async () => {
    const retention = await json('retention');
    assert.equal(retention.ran, true);
    // Ingest's receipt age applies here too: a 2-day-old receipt outlives the default 30 days, not 1.
    await cluster.db.query(
      `INSERT INTO delivery_receipts (user_id, device_id, last_seq, recorded_at)
       VALUES ('cli-receipts', 'old-phone', 1, now() - interval '2 days')`,
    );
    assert.equal((await json('retention')).receipts, 0);
    const shorter = await notify(['retention', '--json'], { ...env, NOTIFY_RECEIPT_RETENTION_DAYS: '1' });
    assert.equal(shorter.code, 0, shorter.stderr);
    assert.equal((JSON.parse(shorter.stdout) as { receipts: number }).receipts, 1);
    assert.match((await run('retention')).stdout, /, 0 delivery receipts\n$/);
    const db = await createTestDatabase();
    try {
      const dbEnv = { ...env, NOTIFY_DATABASE_URL: db.url };
      const first = await notify(['migrate', '--json'], dbEnv);
      assert.equal(first.code, 0, first.stderr);
      const applied = (JSON.parse(first.stdout) as { applied: { status: string }[] }).applied;
      assert.ok(applied.length > 0 && applied.every((a) => a.status === 'Success'));
      const second = await notify(['migrate'], dbEnv);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, 'schema up to date\n');
    } finally {
      await db.drop();
    }
  });

  it('--help on every command exits 0 with its usage and the exit codes', async () => {
    for (const command of COMMANDS) {
      const r = await run(...command.split(' '), '--help');
      assert.equal(r.code, 0, command);
      assert.ok(r.stdout.startsWith(`usage: notify ${command}`), r.stdout);
      assert.match(r.stdout, /--json/);
      assert.match(r.stdout, /exit codes: 0 done, 1 failed \(one line on stderr\), 2 usage error/);
    }
    const overview = await run('--help');
    assert.equal(overview.code, 0);
    for (const command of COMMANDS) assert.ok(overview.stdout.includes(`  ${command}`), command);
  });

  it('usage errors exit 2 and failures exit 1, each with one line on stderr', async () => {
    const oneLine = (r: Run): void => assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    for (const [args, pattern] of [
      [[], /^usage: notify <command>/],
      [['frobnicate'], /^notify: unknown command 'frobnicate'/],
      [['dlq'], /^notify: unknown command 'dlq': did you mean 'dlq tail' or 'dlq replay'\?/],
      [['send', '--user', 'u'], /^notify send: --topic is required \(see 'notify send --help'\)\n$/],
      [['send', '--user', 'u', '--topic', 't', '--colour', 'red'], /^notify send: unknown option --colour/],
      [['send', '--user', 'u', '--topic', 't', '--data', '{nope'], /^notify send: --data must be JSON/],
      [['inbox'], /^notify inbox: expects <userId> \(got none\)/],
      [['dlq', 'tail', '--limit', '0'], /^notify dlq tail: --limit must be an integer from 1 to 1000/],
    ] as const) {
      const r = await run(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      if (args.length > 0) oneLine(r);
      assert.match(r.stderr, pattern);
    }

    const refused = await notify(['send', '--user', 'u', '--topic', 't'], {
      ...env,
      NOTIFY_API_KEY: 'wrong-key',
    });
    assert.equal(refused.code, 1);
    oneLine(refused);
    assert.match(refused.stderr, /^notify send: ingest answered 401/);

    const invalid = await run('send', '--user', 'bad user!', '--topic', 't');
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^notify send: ingest answered 400: validation failed: userId: /);

    const down = await notify(['nodes'], {
      ...env,
      NOTIFY_DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${await freePort()}/x`,
    });
    assert.equal(down.code, 1);
    oneLine(down);
    assert.match(
      down.stderr,
      /^notify nodes: PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/x: /,
    );
    assert.doesNotMatch(down.stderr, /secret/);

    const noBroker = await notify(['dlq', 'tail'], {
      ...env,
      NOTIFY_AMQP_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}`,
    });
    assert.equal(noBroker.code, 1);
    oneLine(noBroker);
    assert.match(
      noBroker.stderr,
      /^notify dlq tail: RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+ is not reachable/,
    );
  });
});
