import { connect } from 'amqplib';
import { Client } from 'pg';
import WebSocket from 'ws';
import type * as Uws from 'uWebSockets.js';
import { now } from './proc';

export interface FloorSummary {
  count: number;
  p50: number;
  p99: number;
  /** Median of each hop alone, ms. */
  hops: { commit: number; amqp: number; ws: number };
}

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/**
 * The raw hops a notification is made of, chained in this one process with the same libraries and
 * nothing of ours between them: one PostgreSQL insert + commit (pg, autocommit), one AMQP hop on a
 * confirm channel to a consumer on another connection (amqplib, non-persistent like a delivery
 * message), one send from a bare uWebSockets.js server to a WebSocket client (ws). Sequential
 * iterations on an otherwise idle path: the floor under notify's producer-send → client-receive.
 * `pauseMs` between iterations lets every process (PostgreSQL, the broker, this one) go idle in
 * between, as they do at a light load; back to back, they stay awake and each hop is quicker.
 */
export async function measureLatencyFloor(
  amqpUrl: string,
  databaseUrl: string,
  iterations: number,
  pauseMs = 0,
): Promise<FloorSummary> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const uws = require('uWebSockets.js') as typeof Uws;
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  const pub = await connect(amqpUrl, { noDelay: true });
  const sub = await connect(amqpUrl, { noDelay: true });
  const app = uws.App();
  let server: Uws.WebSocket<unknown> | null = null;
  let listen: Uws.us_listen_socket | null = null;
  try {
    await pg.query(
      'CREATE TABLE IF NOT EXISTS bench_latency_floor (id bigserial PRIMARY KEY, body text NOT NULL)',
    );
    const pch = await pub.createConfirmChannel();
    const cch = await sub.createChannel();
    const { queue } = await cch.assertQueue('', { exclusive: true, durable: false });
    app.ws('/*', { open: (ws) => void (server = ws) });
    const port = await new Promise<number>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (s) => {
        if (!s) return reject(new Error('latency floor: uWS cannot listen'));
        listen = s;
        resolve(uws.us_socket_local_port(s));
      }),
    );
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    while (!server) await new Promise((r) => setImmediate(r));

    let received: ((body: Buffer) => void) | null = null;
    await cch.consume(queue, (m) => m && received?.(m.content), { noAck: true });
    let delivered: (() => void) | null = null;
    client.on('message', () => delivered?.());

    const totals: number[] = [];
    const hops = { commit: [] as number[], amqp: [] as number[], ws: [] as number[] };
    const body = JSON.stringify({ type: 'notification', seq: 1, title: 'Benchmark', body: 'y'.repeat(120) });
    for (let i = 0; i < iterations; i++) {
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      const t0 = now();
      await pg.query('INSERT INTO bench_latency_floor (body) VALUES ($1)', [body]);
      const t1 = now();
      const consumed = new Promise<Buffer>((resolve) => (received = resolve));
      pch.publish('', queue, Buffer.from(body), { persistent: false, contentType: 'application/json' });
      const content = await consumed;
      const t2 = now();
      const written = new Promise<void>((resolve) => (delivered = resolve));
      (server as Uws.WebSocket<unknown>).send(content, false);
      await written;
      const t3 = now();
      totals.push(t3 - t0);
      hops.commit.push(t1 - t0);
      hops.amqp.push(t2 - t1);
      hops.ws.push(t3 - t2);
    }
    await pch.waitForConfirms();
    for (const list of [totals, hops.commit, hops.amqp, hops.ws]) list.sort((a, b) => a - b);
    client.close();
    await pg.query('DROP TABLE bench_latency_floor');
    return {
      count: totals.length,
      p50: quantile(totals, 0.5),
      p99: quantile(totals, 0.99),
      hops: {
        commit: quantile(hops.commit, 0.5),
        amqp: quantile(hops.amqp, 0.5),
        ws: quantile(hops.ws, 0.5),
      },
    };
  } finally {
    if (listen) uws.us_listen_socket_close(listen);
    await pg.end().catch(() => undefined);
    await Promise.all([pub, sub].map((c) => c.close().catch(() => undefined)));
  }
}
