import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Topology } from '@notify/amqp';
import { startCluster, type TestCluster, waitFor } from '@notify/testing';

/*
 * While PostgreSQL is unavailable, ingest holds each AMQP message and retries storing it. If the
 * consumer's connection drops meanwhile, the broker redelivers the same unacked messages to the
 * reconnected consumer: the copies held on the old channel must be let go, or they are stored too
 * when the store is back (a duplicate for every message without a message-id, whose acks then fail
 * on the dead channel), and ingest holds one more copy of every message per reconnect.
 *
 * Only this test's services are disturbed: ingest reaches its database through a TCP proxy of the
 * test's own, which refuses and cuts connections while "down"; the consumer's connection is closed
 * through the management API in the test's vhost.
 */
const MESSAGES = 20;
const USER = 'held-user';
/** The consumer's longest wait between two tries (RETRY_MAX_MS in ingest-decision.ts), and margin. */
const LONGEST_RETRY_MS = 5_000;
const SETTLE_MS = LONGEST_RETRY_MS + 3_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface PgProxy {
  port: number;
  /** Cuts every proxied connection and refuses new ones (accepted, then closed at once). */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

async function startPgProxy(target: URL): Promise<PgProxy> {
  let open = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', drop).on('close', drop);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    down() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    up() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('ingest holding messages while the store is down loses its consumer connection', () => {
  let cluster: TestCluster;
  let proxy: PgProxy;
  before(async () => {
    cluster = await startCluster({ gateways: 0 });
    const target = new URL(cluster.db.url);
    proxy = await startPgProxy(target);
    // Restarted to reach its (already migrated) database through the proxy.
    await cluster.ingest.stop();
    const proxied = new URL(cluster.db.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    cluster.env.NOTIFY_DATABASE_URL = proxied.toString();
    await cluster.startIngest();
  });
  after(async () => {
    await cluster?.stop();
    await proxy?.close();
  });

  it(
    'lets the old copies go: every message is stored once and acknowledged',
    { timeout: 180_000 },
    async (t) => {
      const ids = Array.from({ length: MESSAGES }, (_, i) => `held-${i}`);
      /** How many copies of each message ingest took and began to hold (its first retry line). */
      const held = (): Map<string, number> => {
        const copies = new Map<string, number>();
        for (const line of cluster.ingest.output().split('\n')) {
          if (!line.includes('store unavailable; retrying')) continue;
          let entry: { msg?: string; attempt?: number; correlationId?: string };
          try {
            entry = JSON.parse(line) as typeof entry;
          } catch {
            continue;
          }
          if (entry.msg === 'store unavailable; retrying' && entry.attempt === 0 && entry.correlationId)
            copies.set(entry.correlationId, (copies.get(entry.correlationId) ?? 0) + 1);
        }
        return copies;
      };
      const everyHeld = (copies: number) => () => {
        const seen = held();
        return ids.every((id) => (seen.get(id) ?? 0) >= copies);
      };

      proxy.down();
      const { channel } = await cluster.amqp();
      // No message-id: nothing but ingest itself keeps a redelivered copy from being stored twice.
      for (const id of ids)
        channel.publish(
          Topology.ingestExchange,
          `notification.${id}`,
          Buffer.from(JSON.stringify({ userId: USER })),
          {
            contentType: 'application/json',
            deliveryMode: 2,
            correlationId: id,
          },
        );
      await channel.waitForConfirms();
      await waitFor('ingest holds every message, retrying the store', everyHeld(1), 30_000, 100);

      // Close the consumer's connection (only that one: ingest's publishing connection stays up).
      await cluster.vhost.closeConnection(await cluster.vhost.consumerConnection(Topology.ingestQueue));
      await waitFor(
        'the broker redelivered every message to the reconnected consumer',
        everyHeld(2),
        30_000,
        100,
      );

      proxy.up();
      const storeBack = Date.now();
      const rows = async (): Promise<string[]> =>
        (
          await cluster.db.query<{ topic: string }>('SELECT topic FROM notifications WHERE user_id = $1', [
            USER,
          ])
        ).map((r) => r.topic);
      await waitFor('every message stored', async () => (await rows()).length >= MESSAGES, 60_000, 100);
      await waitFor(
        'nothing left in notify.ingest, ready or unacknowledged',
        async () => {
          const queue = (await cluster.vhost.queue(Topology.ingestQueue)) as {
            messages?: number;
            messages_unacknowledged?: number;
          } | null;
          return queue?.messages === 0 && queue.messages_unacknowledged === 0;
        },
        30_000,
        100,
      );
      // A copy still held on the closed channel would be stored by its next try, at most the longest
      // wait between tries after the store came back.
      while (Date.now() < storeBack + SETTLE_MS && (await rows()).length <= MESSAGES) await sleep(200);

      const stored = (await rows()).sort();
      const copies = held();
      t.diagnostic(`copies taken per message: ${JSON.stringify([...new Set(copies.values())])}`);
      assert.deepEqual(
        stored,
        [...ids].sort(),
        `each message stored exactly once (${stored.length} rows for ${MESSAGES} messages)`,
      );
      const amqp = await cluster.amqp();
      assert.equal(
        (await amqp.channel.checkQueue(Topology.invalidQueue)).messageCount,
        0,
        'nothing dead-lettered',
      );
      assert.equal(cluster.ingest.child.exitCode, null, `ingest exited:\n${cluster.ingest.output()}`);
    },
  );
});
