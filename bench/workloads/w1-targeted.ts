import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { ClientWorker } from '../lib/clients';
import type { Figure } from '../lib/results';
import { benchCluster, gatewayPort, now, tokens, track, type RunContext } from './common';

const BATCH = 1000;

async function publishConfirmed(
  ch: ConfirmChannel,
  count: number,
  one: (i: number) => { exchange: string; key: string; body: Buffer; messageId: string },
): Promise<void> {
  for (let i = 0; i < count;) {
    const end = Math.min(count, i + BATCH);
    for (; i < end; i++) {
      const m = one(i);
      ch.publish(m.exchange, m.key, m.body, {
        persistent: true,
        messageId: m.messageId,
        contentType: 'application/json',
      });
    }
    await ch.waitForConfirms();
  }
}

/**
 * Workload 1: targeted durable notifications end to end. Both sides publish the same way (amqplib,
 * persistent, publisher confirms in batches of 1,000); the baseline goes to one durable classic queue
 * consumed with acks (prefetch 1,000), notify goes through `notify.ingest` → ingest (PostgreSQL commit,
 * per-user seq) → RabbitMQ → gateway → WebSocket client of that user.
 */
export async function workload1(ctx: RunContext): Promise<Figure> {
  const M = ctx.quick ? 5_000 : 20_000;
  const U = ctx.quick ? 500 : 1_000;
  const timeoutMs = ctx.quick ? 60_000 : 120_000;
  const cluster = await benchCluster(ctx);
  const conns: ChannelModel[] = [];
  try {
    // Baseline: raw amqplib, same vhost and broker.
    ctx.log(`w1 baseline: raw amqplib persistent+confirm → durable queue → consume with acks, ${M} messages`);
    const pub = await connect(cluster.vhost.url, { noDelay: true });
    const sub = await connect(cluster.vhost.url, { noDelay: true });
    conns.push(pub, sub);
    const pch = await pub.createConfirmChannel();
    const cch = await sub.createChannel();
    const queue = `bench.w1.${randomUUID()}`;
    await cch.assertQueue(queue, { durable: true });
    await cch.prefetch(1000);
    let consumed = 0;
    let lastAt = 0;
    const done = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      void cch.consume(queue, (msg) => {
        if (!msg) return;
        cch.ack(msg);
        consumed++;
        lastAt = now();
        if (consumed === M) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    const body = Buffer.from(
      JSON.stringify({ userId: 'u-1', topic: 'bench', title: 'Benchmark', body: 'y'.repeat(120) }),
    );
    const b0 = now();
    await publishConfirmed(pch, M, (i) => ({ exchange: '', key: queue, body, messageId: `b-${i}` }));
    const bPublishMs = now() - b0;
    const bReached = await done;
    await cch.deleteQueue(queue).catch(() => undefined);
    const baseRate = consumed / ((lastAt - b0) / 1000);
    ctx.log(`  baseline ${Math.round(baseRate)} msgs/s (${consumed}/${M})`);

    // System: U users connected, M notifications round robin over them.
    ctx.log(`w1 notify: ${U} users connected to 1 gateway, ${M} notifications via notify.ingest`);
    const toks = await tokens('w1', U);
    const w = await track(ctx, new ClientWorker('w1-clients'));
    let sys;
    try {
      const opened = await w.open({
        port: gatewayPort(cluster),
        paths: toks.map((t) => `/v1/ws?token=${t}&device=bench`),
        sourceFirst: 2,
        sourceSpread: 8,
        concurrency: 100,
        timeoutMs,
      });
      ctx.log(`  ${opened.open} connected in ${Math.round(opened.ms)} ms`);
      const { result } = await w.expect(M, timeoutMs);
      const t0 = now();
      await publishConfirmed(pch, M, (i) => ({
        exchange: 'notify.ingest',
        key: 'notification.bench',
        body: Buffer.from(
          JSON.stringify({
            userId: `w1-${i % U}`,
            topic: 'bench',
            title: 'Benchmark',
            body: 'y'.repeat(120),
          }),
        ),
        messageId: `w1-${i}-${randomUUID()}`,
      }));
      const publishMs = now() - t0;
      const r = await result;
      sys = { ...r, t0, publishMs };
    } finally {
      await w.stop();
    }
    const sysRate = sys.frames / ((sys.lastFrameAt - sys.t0) / 1000);
    ctx.log(`  notify ${Math.round(sysRate)} notifications/s (${sys.frames}/${M}, reached=${sys.reached})`);
    const notes = [
      `M=${M.toLocaleString('en-US')} messages per side, ~200-byte JSON bodies, amqplib 2.3 (\`noDelay\`), persistent, publisher confirms per batch of ${BATCH}.`,
      `baseline: one durable classic queue, one consumer with acks and prefetch 1,000; ${consumed.toLocaleString('en-US')} consumed; publishing took ${Math.round(bPublishMs)} ms.`,
      `notify: \`notify.ingest\` (quorum queue) → ingest (stores each notification in PostgreSQL with its per-user seq, then publishes the delivery) → node queue → gateway → WebSocket; ${U.toLocaleString('en-US')} users each with one connected client, notifications spread round robin; ${sys.frames.toLocaleString('en-US')} frames received, smallest count on one socket ${sys.minPerSocket} (expected ${Math.floor(M / U)}), ${sys.closedAfterReady} sockets closed; publishing took ${Math.round(sys.publishMs)} ms.`,
      'Rate = messages ÷ (first publish → last message consumed / last frame received at the clients).',
      'Load generator (publisher and one client process), broker, PostgreSQL, ingest and gateway share the same 2 cores.',
    ];
    if (!sys.reached || !bReached)
      notes.push(
        `INCOMPLETE: notify reached=${sys.reached}, baseline reached=${bReached} within ${timeoutMs / 1000} s.`,
      );
    return {
      workload: 'W1 targeted',
      metric: `durable notifications/s end to end, ${U.toLocaleString('en-US')} users`,
      unit: 'msgs/s',
      system: sysRate,
      baselineName: 'raw amqplib persistent+confirm',
      baseline: baseRate,
      ratio: sysRate / baseRate,
      notes,
      raw: {
        M,
        U,
        notify: sys,
        baseline: { consumed, reached: bReached, publishMs: bPublishMs, rate: baseRate },
      },
    };
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await cluster.stop();
  }
}
