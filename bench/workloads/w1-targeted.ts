import { randomUUID } from 'node:crypto';
import { connect, type ChannelModel } from 'amqplib';
import { BATCH, HTTP_IN_FLIGHT, maxRun, notification, pacedRun, type Path, type Run } from '../lib/producers';
import type { Figure } from '../lib/results';
import { benchCluster, now, openAckingClients, producerFor, warmUp, type RunContext } from './common';

/** Loads at which latency is measured, as fractions of the path's measured maximum. */
const LOADS = [0.25, 0.5, 0.8];

/** Raw amqplib, persistent + confirms → one durable queue → consumer with acks. */
async function baseline(
  url: string,
  M: number,
  timeoutMs: number,
): Promise<{ rate: number; reached: boolean }> {
  const pub = await connect(url, { noDelay: true });
  const sub = await connect(url, { noDelay: true });
  try {
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
        lastAt = now();
        if (++consumed === M) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    const t0 = now();
    for (let i = 0; i < M; i += BATCH) {
      for (let k = i; k < Math.min(M, i + BATCH); k++)
        pch.publish('', queue, Buffer.from(JSON.stringify(notification(k))), {
          persistent: true,
          messageId: randomUUID(),
          contentType: 'application/json',
        });
      await pch.waitForConfirms();
    }
    const reached = await done;
    await cch.deleteQueue(queue).catch(() => undefined);
    return { rate: consumed / ((lastAt - t0) / 1000), reached };
  } finally {
    await Promise.all([pub, sub].map((c: ChannelModel) => c.close().catch(() => undefined)));
  }
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const ms = (x: number | undefined): string => (x === undefined ? '—' : `${x.toFixed(1)} ms`);

/**
 * Workload 1: targeted durable notifications end to end. U users, each with one connected client that
 * acks every notification; producers → ingest (AMQP and HTTP, measured separately) → PostgreSQL →
 * RabbitMQ → one gateway → clients. For each path: the maximum delivered/s, then p50/p99/p99.9 from
 * the producer's send to the client's receive at 25%, 50% and 80% of that maximum (open loop).
 */
export async function workload1(ctx: RunContext): Promise<Figure[]> {
  const U = ctx.quick ? 2_000 : 10_000;
  const M = ctx.quick ? 8_000 : 30_000;
  const paceSeconds = ctx.quick ? 2 : 5;
  const timeoutMs = ctx.quick ? 60_000 : 120_000;
  const cluster = await benchCluster(ctx);
  try {
    ctx.log(`w1 baseline: raw amqplib persistent+confirm → durable queue → consume with acks, ${M} messages`);
    const base = await baseline(cluster.vhost.url, M, timeoutMs);
    ctx.log(`  baseline ${n(base.rate)} msgs/s`);

    ctx.log(`w1 notify: ${U} users, one acking client each, on 1 gateway`);
    const w = await openAckingClients(ctx, cluster, 'w1', U, timeoutMs);
    const figures: Figure[] = [];
    try {
      for (const path of ['amqp', 'http'] as Path[]) {
        const producer = await producerFor(cluster, path, 'w1');
        try {
          await warmUp(w, producer, U, timeoutMs);
          const max = await maxRun(w, producer, M, U, timeoutMs);
          const maxRate = max.delivered / max.seconds;
          ctx.log(
            `  ${path}: max ${n(maxRate)} delivered/s (${max.delivered}/${max.sent}, accepted ${n(max.sent / max.acceptSeconds)}/s)`,
          );
          const paced: { load: number; rate: number; run: Run }[] = [];
          for (const load of LOADS) {
            const rate = Math.max(1, Math.round(maxRate * load));
            const run = await pacedRun(w, producer, rate, paceSeconds, U, timeoutMs);
            paced.push({ load, rate, run });
            ctx.log(
              `  ${path} at ${load * 100}% (${n(rate)}/s): p50 ${ms(run.latency?.p50)}, p99 ${ms(run.latency?.p99)}, p99.9 ${ms(run.latency?.p999)} (${run.delivered}/${run.sent})`,
            );
          }
          figures.push(figure(path, U, M, paceSeconds, base, max, maxRate, paced, producer.refused));
        } finally {
          await producer.close();
        }
      }
    } finally {
      await w.stop();
    }
    return figures;
  } finally {
    await cluster.stop();
  }
}

function figure(
  path: Path,
  U: number,
  M: number,
  paceSeconds: number,
  base: { rate: number; reached: boolean },
  max: Run,
  maxRate: number,
  paced: { load: number; rate: number; run: Run }[],
  refused: number,
): Figure {
  const half = paced.find((p) => p.load === 0.5)?.run.latency;
  const complete = max.reached && base.reached && paced.every((p) => p.run.reached);
  const ratio = maxRate / base.rate;
  const producerText =
    path === 'amqp'
      ? 'amqplib publishes to `notify.ingest` (persistent, `message-id` set, publisher confirms per batch of 1,000)'
      : `\`POST /v1/notifications\`, one notification per request, ${HTTP_IN_FLIGHT} keep-alive requests in flight (the benchmarks' lean HTTP/1.1 client, bench/lib/http-client, the same for every system)`;
  const notes = [
    `Producer: ${producerText}. ~200-byte notifications with \`data.t\` = send time; ${U.toLocaleString('en-US')} users, one client each, round robin. Each path is measured after a warm-up round of one notification per user (not measured), as the W5 peers are.`,
    `notify path: ingest validates, stores each notification in PostgreSQL with its user's next seq (group commit: concurrent events share a transaction), publishes the delivery (confirmed) → node queue → 1 gateway → WebSocket; every client acks every notification (gateway writes device cursors).`,
    `Max: ${n(M)} notifications as fast as the producer path takes them: ${n(max.delivered)} delivered in ${max.seconds.toFixed(2)} s (first send → last frame) = **${n(maxRate)} delivered/s**; accepted by ${path === 'http' ? 'ingest (HTTP 202)' : 'the broker (confirms)'} at ${n(max.sent / max.acceptSeconds)}/s; smallest count on one socket ${max.minPerSocket}, ${max.closed} sockets closed${path === 'http' ? `, ${refused} requests refused` : ''}.`,
    `Latency, producer send → client receive (open loop, evenly spaced, ${paceSeconds} s at each rate): ${paced
      .map(
        (p) =>
          `${p.load * 100}% = ${n(p.rate)}/s: p50 ${ms(p.run.latency?.p50)}, p99 ${ms(p.run.latency?.p99)}, p99.9 ${ms(p.run.latency?.p999)} (${n(p.run.delivered)}/${n(p.run.sent)} delivered)`,
      )
      .join('; ')}. Target p99 ≤ 10 ms at 50%: ${half && half.p99 <= 10 ? 'met' : '**not met**'}.`,
    `Baseline: raw amqplib, persistent, publisher confirms per 1,000 → one durable classic queue → one consumer with acks (prefetch 1,000), same bodies: ${n(base.rate)} msgs/s. It stores nothing and has no per-user order; the ratio says what durability, ordering and fan-in to WebSockets cost against the broker alone.`,
    'Send and receive times come from two processes on the same clock (performance.timeOrigin + now). The producer (bench process), the client process, broker, PostgreSQL, ingest and gateway share the same 2 cores.',
  ];
  if (!complete)
    notes.push(
      `INCOMPLETE: max reached=${max.reached}, baseline reached=${base.reached}, paced reached=${paced.map((p) => p.run.reached).join('/')}.`,
    );
  return {
    id: `w1-${path}`,
    workload: 'W1 targeted',
    metric: `durable notifications delivered/s, ${U.toLocaleString('en-US')} acking clients, producer via ${path.toUpperCase()}`,
    unit: 'msgs/s',
    system: maxRate,
    baselineName: 'raw amqplib persistent+confirm',
    baseline: base.rate,
    ratio,
    target: { text: '≥ 0.5×', met: complete && ratio >= 0.5 },
    notes,
    raw: { path, U, M, max, maxRate, paced, baseline: base, refused },
  };
}
