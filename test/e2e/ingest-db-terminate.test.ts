import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Topology } from '@notify/amqp';
import { signToken, startCluster, TestClient, TEST_API_KEY, type TestCluster } from '@notify/testing';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const USER = 'pg-kill-user';

/**
 * PostgreSQL terminating every connection of the services (what a restart or a failover does to
 * them), without restarting the shared server: `pg_terminate_backend` on this test's database only.
 */
describe('ingest and a gateway while PostgreSQL terminates their connections under load', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ gateways: 1 });
  });
  after(async () => cluster?.stop());

  it('stay alive; every acknowledged notification is stored and delivered once; HTTP says 202 or 503', async (t) => {
    const seen: number[] = [];
    let client: TestClient | undefined;
    let stopped = false;
    // The device keeps a connection, resuming after the last seq it saw if the gateway closes it.
    const device = (async () => {
      while (!stopped) {
        const since = seen.length ? `&since=${seen[seen.length - 1]}` : '';
        try {
          client = await TestClient.connect(cluster.wsUrl(0, `device=d1${since}`), {
            authorization: `Bearer ${await signToken(USER)}`,
          });
        } catch {
          await sleep(100);
          continue;
        }
        while (!stopped && client.closeCode === null) {
          try {
            seen.push((await client.next('notification', 500)).seq);
          } catch {
            // no notification within the wait, or closed: look again
          }
        }
      }
    })();
    await sleep(300);

    const statuses = new Map<number, number>();
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const httpKeys: string[] = [];
    const http = async (worker: number, until: number) => {
      for (let i = 0; Date.now() < until; i++) {
        const key = `h-${worker}-${i}`;
        // A producer retries with the same key until it is acknowledged.
        for (;;) {
          const res = await fetch(`${cluster.ingestUrl}/v1/notifications`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ userId: USER, topic: 'via.http', idempotencyKey: key }),
          });
          await res.arrayBuffer();
          count(res.status);
          if (res.status === 202) break;
          await sleep(50);
        }
        httpKeys.push(key);
      }
    };
    const { channel } = await cluster.amqp();
    let amqpSent = 0;
    const amqp = async (until: number) => {
      while (Date.now() < until) {
        channel.publish(
          Topology.ingestExchange,
          'notification.via.amqp',
          Buffer.from(JSON.stringify({ userId: USER })),
          { contentType: 'application/json', deliveryMode: 2, messageId: `a-${amqpSent++}` },
        );
        await channel.waitForConfirms();
        await sleep(20);
      }
    };
    let terminated = 0;
    const killer = async (until: number) => {
      while (Date.now() < until) {
        await sleep(250);
        const rows = await cluster.db.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [cluster.db.name],
        );
        terminated += rows[0].n;
      }
    };
    const until = Date.now() + 5_000;
    await Promise.all([http(0, until), http(1, until), http(2, until), amqp(until), killer(until - 1_000)]);

    t.diagnostic(`terminated ${terminated}; HTTP ${JSON.stringify([...statuses])}; AMQP ${amqpSent}`);
    assert.ok(terminated >= 10, `${terminated} connections terminated`);
    assert.deepEqual(
      [...statuses.keys()].filter((s) => s !== 202 && s !== 503),
      [],
      `HTTP answers: ${JSON.stringify([...statuses])}`,
    );
    assert.equal(cluster.ingest.child.exitCode, null, `ingest exited:\n${cluster.ingest.output()}`);
    assert.equal(
      cluster.gateways[0].child.exitCode,
      null,
      `gateway exited:\n${cluster.gateways[0].output()}`,
    );
    assert.equal(cluster.ingest.child.signalCode, null);

    const expected = httpKeys.length + amqpSent;
    let stored: { key: string }[] = [];
    for (let i = 0; i < 200 && (stored.length < expected || seen.length < expected); i++) {
      await sleep(100);
      stored = await cluster.db.query<{ key: string }>(
        `SELECT k.key FROM notifications n
           LEFT JOIN idempotency_keys k ON k.user_id = n.user_id AND k.seq = n.seq
          WHERE n.user_id = $1 ORDER BY n.seq`,
        [USER],
      );
    }
    stopped = true;
    await client?.close();
    await device;
    const keys = stored.map((r) => r.key).sort();
    const wanted = [...httpKeys, ...Array.from({ length: amqpSent }, (_, i) => `a-${i}`)].sort();
    assert.deepEqual(keys, wanted, 'each acknowledged notification is stored exactly once');
    assert.deepEqual(
      seen,
      Array.from({ length: expected }, (_, i) => i + 1),
      'the device got every seq once, in order',
    );
  });
});
