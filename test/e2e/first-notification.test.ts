import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_HEADER, Topology } from '@notify/amqp';
import { CloseCode, type NotificationFrame } from '@notify/protocol';
import {
  signToken,
  startCluster,
  TestClient,
  TEST_JWT_SECRET,
  UpgradeRejected,
  type TestCluster,
} from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function connectAs(cluster: TestCluster, userId: string, query = 'device=web-1'): Promise<TestClient> {
  const client = await TestClient.connect(cluster.wsUrl(0, query), {
    authorization: `Bearer ${await signToken(userId)}`,
  });
  await client.next('ready');
  return client;
}

async function rejectedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    const client = await TestClient.connect(url, headers);
    await client.close();
    return 101;
  } catch (err) {
    if (err instanceof UpgradeRejected) return err.status;
    throw err;
  }
}

describe('first notification end to end (HTTP/AMQP → ingest → PostgreSQL → RabbitMQ → gateway → socket)', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 1 });
  });
  after(async () => cluster?.stop());

  it('sends ready with the user, device, node and inbox state', async () => {
    const client = await TestClient.connect(cluster.wsUrl(0, 'device=phone_1'), {
      authorization: `Bearer ${await signToken('ready-user')}`,
    });
    const ready = await client.next('ready');
    assert.equal(ready.userId, 'ready-user');
    assert.equal(ready.deviceId, 'phone_1');
    assert.equal(ready.node, cluster.nodeId(0));
    assert.equal(ready.lastSeq, 0);
    assert.equal(ready.unread, 0);
    assert.match(ready.connectionId, /^[0-9a-f-]{36}$/);
    await client.close();
  });

  it('delivers a notification sent over HTTP, exactly as the contract shapes it', async () => {
    const alice = await connectAs(cluster, 'alice');
    const res = await cluster.post({
      userId: 'alice',
      topic: 'order.shipped',
      title: 'Your order shipped',
      body: 'Parcel 42 is on its way',
      data: { orderId: 42, tracking: ['a', 'b'], carrier: { constructor: 'DHL' } },
    });
    assert.equal(res.status, 202);
    const [result] = (res.body as { results: { userId: string; id: string; seq: number }[] }).results;
    assert.equal(result.userId, 'alice');
    assert.equal(result.seq, 1);
    const frame = await alice.next('notification');
    assert.deepEqual(Object.keys(frame).sort(), [
      'body',
      'createdAt',
      'data',
      'id',
      'readAt',
      'seq',
      'title',
      'topic',
      'type',
    ]);
    assert.equal(frame.id, result.id);
    assert.equal(frame.seq, 1);
    assert.equal(frame.topic, 'order.shipped');
    assert.equal(frame.title, 'Your order shipped');
    assert.equal(frame.body, 'Parcel 42 is on its way');
    assert.deepEqual(frame.data, { orderId: 42, tracking: ['a', 'b'], carrier: { constructor: 'DHL' } });
    assert.equal(frame.readAt, null);
    assert.ok(Math.abs(Date.parse(frame.createdAt) - Date.now()) < 60_000);
    await alice.close();
  });

  it('delivers a notification published as plain JSON to notify.ingest by any AMQP client', async () => {
    const carol = await connectAs(cluster, 'carol');
    const { channel } = await cluster.amqp();
    channel.publish(
      Topology.ingestExchange,
      'notification.invoice.paid',
      Buffer.from(
        JSON.stringify({ userId: 'carol', title: 'Invoice paid', data: { payer: { constructor: 'ACME' } } }),
      ),
      { contentType: 'application/json', deliveryMode: 2, messageId: 'invoice-7' },
    );
    await channel.waitForConfirms();
    const frame = await carol.next('notification', 10_000);
    assert.equal(frame.topic, 'invoice.paid', 'topic comes from the routing key when the body has none');
    assert.equal(frame.title, 'Invoice paid');
    assert.deepEqual(frame.data, { payer: { constructor: 'ACME' } }, 'data is delivered as sent');
    assert.equal(frame.seq, 1);
    const stored = await cluster.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notifications WHERE user_id = $1',
      ['carol'],
    );
    assert.equal(stored[0].n, 1);
    await carol.close();
  });

  it('never delivers one user’s notification to another user', async () => {
    const dave = await connectAs(cluster, 'dave');
    const erin = await connectAs(cluster, 'erin');
    await cluster.post({ userId: 'dave', topic: 'secret.for.dave' });
    await cluster.post({ userId: 'erin', topic: 'for.erin' });
    assert.equal((await dave.next('notification')).topic, 'secret.for.dave');
    assert.equal((await erin.next('notification')).topic, 'for.erin');
    await sleep(300);
    assert.deepEqual(dave.all('notification'), []);
    assert.deepEqual(erin.all('notification'), []);
    await Promise.all([dave.close(), erin.close()]);
  });

  it('delivers to every recipient of userIds, each with its own seq', async () => {
    const [f, g] = await Promise.all([connectAs(cluster, 'frank'), connectAs(cluster, 'grace')]);
    await cluster.post({ userId: 'frank', topic: 'warmup' });
    await f.next('notification');
    const res = await cluster.post({ userIds: ['frank', 'grace'], topic: 'team.update' });
    assert.equal(res.status, 202);
    const byUser = new Map(
      (res.body as { results: { userId: string; seq: number }[] }).results.map((r) => [r.userId, r.seq]),
    );
    assert.deepEqual(Object.fromEntries(byUser), { frank: 2, grace: 1 });
    const [nf, ng]: NotificationFrame[] = await Promise.all([f.next('notification'), g.next('notification')]);
    assert.equal(nf.seq, 2);
    assert.equal(ng.seq, 1);
    await Promise.all([f.close(), g.close()]);
  });

  it('refuses upgrades with a bad, expired, wrongly signed or missing token (401) and a bad device (400)', async () => {
    const url = cluster.wsUrl(0, 'device=web-1');
    assert.equal(await rejectedStatus(url), 401);
    assert.equal(await rejectedStatus(url, { authorization: 'Bearer not-a-jwt' }), 401);
    assert.equal(
      await rejectedStatus(url, {
        authorization: `Bearer ${await signToken('u', { expiresInSeconds: -60 })}`,
      }),
      401,
    );
    assert.equal(
      await rejectedStatus(url, {
        authorization: `Bearer ${await signToken('u', { secret: TEST_JWT_SECRET + 'x' })}`,
      }),
      401,
    );
    assert.equal(
      await rejectedStatus(cluster.wsUrl(0, `device=web-1&token=${await signToken('u')}`)),
      101,
      'browsers pass ?token=',
    );
    assert.equal(
      await rejectedStatus(cluster.wsUrl(0, 'device=bad device!'), {
        authorization: `Bearer ${await signToken('u')}`,
      }),
      400,
    );
  });

  it('binds user.<id> on the node only while that user is connected there', async () => {
    const boundUsers = async (): Promise<string[]> =>
      (await cluster.vhost.bindings(Topology.gatewayExchange))
        .filter((b) => b.destination.startsWith(`notify.gateway.${cluster.nodeId(0)}.`))
        .map((b) => b.routing_key);
    const one = await connectAs(cluster, 'heidi', 'device=a');
    const two = await connectAs(cluster, 'heidi', 'device=b');
    assert.ok((await boundUsers()).includes('user.heidi'));
    assert.ok(!(await boundUsers()).includes('user.ivan'), 'users not connected here are not bound');
    await one.close();
    await sleep(200);
    assert.ok(
      (await boundUsers()).includes('user.heidi'),
      'still bound while another socket of the user is open',
    );
    await two.close();
    for (let i = 0; i < 50 && (await boundUsers()).includes('user.heidi'); i++) await sleep(100);
    assert.ok(!(await boundUsers()).includes('user.heidi'), 'unbound after the last socket left');
  });

  it('dead-letters an invalid AMQP event to notify.ingest.invalid with the reason', async () => {
    const { channel } = await cluster.amqp();
    channel.publish(
      Topology.ingestExchange,
      'notification.x',
      Buffer.from(JSON.stringify({ userId: 'bad user*', topic: 'x' })),
      {
        contentType: 'application/json',
        messageId: 'bad-1',
      },
    );
    channel.publish(Topology.ingestExchange, 'notification.y', Buffer.from('{not json'), {
      contentType: 'application/json',
    });
    channel.publish(Topology.ingestExchange, 'elsewhere.z', Buffer.from('{}'), {
      contentType: 'application/json',
    });
    // class-transformer throws on this body (an object with a `constructor` key); it must still be answered.
    channel.publish(
      Topology.ingestExchange,
      'notification.w',
      Buffer.from(JSON.stringify({ userId: 'bad user*', topic: 'w', data: { constructor: 'x' } })),
      { contentType: 'application/json' },
    );
    await channel.waitForConfirms();
    const reasons = new Map<string, string>();
    for (let i = 0; i < 100 && reasons.size < 4; i++) {
      const message = await channel.get(Topology.invalidQueue, { noAck: true });
      if (message) reasons.set(message.fields.routingKey, String(message.properties.headers?.[ERROR_HEADER]));
      else await sleep(100);
    }
    assert.match(reasons.get('notification.x') ?? '', /userId/);
    assert.match(reasons.get('notification.y') ?? '', /not a JSON object|not valid JSON/);
    assert.match(reasons.get('elsewhere.z') ?? '', /unknown routing key/);
    assert.match(reasons.get('notification.w') ?? '', /could not be validated/);
    assert.equal(
      (await cluster.vhost.queue(Topology.ingestQueue))?.messages ?? 0,
      0,
      'nothing left unacked or requeued',
    );
  });

  it('answers malformed frames with an error frame, keeps the socket, and closes with 1009 over the size limit', async () => {
    const client = await connectAs(cluster, 'judy');
    client.send('{oops');
    assert.equal((await client.next('error')).code, 'bad_request');
    client.send({ type: 'no-such-frame', ref: 'r9' });
    const unknown = await client.next('error');
    assert.equal(unknown.ref, 'r9');
    client.send({ type: 'ping', ref: 'p1' });
    assert.equal((await client.next('pong')).ref, 'p1');
    client.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(40_000) }));
    assert.equal(await client.closed, CloseCode.MessageTooBig);
  });

  it('exposes Prometheus metrics on both services that count what happened', async () => {
    const ingest = await (await fetch(`${cluster.ingestUrl}/metrics`)).text();
    const sample = (text: string, name: string): number =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(name))
          ?.split(' ')
          .pop() ?? NaN,
      );
    assert.ok(sample(ingest, 'notify_ingest_accepted_total{transport="http",kind="notification"}') >= 5);
    assert.ok(sample(ingest, 'notify_ingest_accepted_total{transport="amqp",kind="notification"}') >= 1);
    assert.equal(sample(ingest, 'notify_ingest_dead_lettered_total'), 4);
    assert.equal(sample(ingest, 'notify_ingest_queue_messages'), 0);
    const gateway = await (await fetch(`http://127.0.0.1:${cluster.gateways[0].port}/metrics`)).text();
    assert.ok(sample(gateway, 'notify_gateway_deliveries_total') >= 6);
    // Observed at the write to the socket, so never more often than notifications were delivered live.
    const endToEnd = sample(gateway, 'notify_gateway_end_to_end_seconds_count');
    assert.ok(endToEnd >= 6 && endToEnd <= sample(gateway, 'notify_gateway_deliveries_total'));
    // Every stage of a live notification is timed, on each side.
    for (const stage of ['commit', 'confirm'])
      assert.ok(
        sample(ingest, `notify_ingest_stage_seconds_count{stage="${stage}",kind="notification"}`) >= 6,
        stage,
      );
    for (const stage of ['broker', 'write'])
      assert.equal(
        sample(gateway, `notify_gateway_stage_seconds_count{stage="${stage}",kind="notification"}`),
        endToEnd,
        stage,
      );
    assert.ok(sample(gateway, 'notify_gateway_rejected_upgrades_total{reason="token invalid"}') >= 2);
    // docs/operations.md lists exactly the notify_ metrics the two services export.
    const exported = new Set(
      [...`${ingest}\n${gateway}`.matchAll(/^# TYPE (notify_\w+) /gm)].map((m) => m[1]),
    );
    const documented = new Set(
      [
        ...readFileSync(join(__dirname, '..', '..', '..', 'docs', 'operations.md'), 'utf8').matchAll(
          /^\| `(notify_\w+)`/gm,
        ),
      ].map((m) => m[1]),
    );
    assert.deepEqual([...exported].sort(), [...documented].sort(), 'docs/operations.md and /metrics');
    // Every metric the shipped dashboard and alert rules read is one the services export.
    const monitoring = join(__dirname, '..', '..', '..', 'deploy', 'kubernetes', 'monitoring');
    for (const file of ['grafana-dashboard.json', 'prometheus-rules.yaml']) {
      const used = [...readFileSync(join(monitoring, file), 'utf8').matchAll(/\bnotify_\w+/g)].map((m) =>
        m[0].replace(/_(bucket|sum|count)$/, ''),
      );
      assert.ok(used.length >= 5, file);
      for (const name of used) assert.ok(exported.has(name), `${file} reads ${name}, which nothing exports`);
    }
    assert.match(gateway, /^notify_build_info\{service="gateway",version="\d+\.\d+\.\d+[^"]*",node="v20\./m);
  });

  it('reports ingest ready only with the broker reached and its topology declared', async () => {
    const res = await fetch(`${cluster.ingestUrl}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { checks: unknown }).checks, {
      rabbitmq: true,
      topology: true,
      postgres: true,
      draining: false,
    });
  });

  it('serves the OpenAPI document that is committed as docs/openapi.json', async () => {
    const served = await (await fetch(`${cluster.ingestUrl}/docs-json`)).json();
    const committed = JSON.parse(
      readFileSync(join(__dirname, '..', '..', '..', 'docs', 'openapi.json'), 'utf8'),
    ) as unknown;
    assert.deepEqual(served, committed, 'docs/openapi.json is stale: run npm run openapi');
    const paths = Object.keys((served as { paths: Record<string, unknown> }).paths);
    assert.deepEqual(paths.sort(), [
      '/apps/{appId}/batch_events',
      '/apps/{appId}/channels',
      '/apps/{appId}/channels/{channel}',
      '/apps/{appId}/channels/{channel}/users',
      '/apps/{appId}/events',
      '/apps/{appId}/users/{userId}/terminate_connections',
      '/v1/channels/{channel}/messages',
      '/v1/channels/{channel}/presence',
      '/v1/notifications',
      '/v1/notifications/{id}',
      '/v1/users/{userId}/notifications',
      '/v1/users/{userId}/preferences',
      '/v1/users/{userId}/presence',
      '/v1/users/{userId}/read',
    ]);
  });

  it('runs the native uWebSockets.js build', () => {
    assert.match(cluster.gateways[0].output(), /"uws":"uws_linux_x64_\d+\.node"/);
  });
});
