import { freePort, TEST_API_KEY } from '@notify/testing';
import { ClientWorker } from '../lib/clients';
import { KeepAliveClient } from '../lib/http-client';
import { startUwsBaseline } from '../lib/proc';
import type { Figure } from '../lib/results';
import { benchCluster, gatewayPort, now, tokens, track, type RunContext } from './common';

const SHARED = 'load generator (1 client process), broker, database and server share the same 2 cores';
/** Posts in flight over HTTP, through the benchmarks' HTTP client (bench/lib/http-client). */
const POSTS_IN_FLIGHT = 20;

/**
 * Workload 2: channel fan-out on one node. N clients subscribed to one channel, M messages of about
 * 200 bytes; deliveries/s at the clients = N×M / (first publish → last frame counted).
 */
export async function workload2(ctx: RunContext): Promise<Figure[]> {
  const N = ctx.quick ? 2_000 : 10_000;
  const M = ctx.quick ? 300 : 300;
  const expected = N * M;
  const connectTimeout = ctx.quick ? 60_000 : 180_000;
  const deliverTimeout = ctx.quick ? 60_000 : 120_000;

  // Baseline: bare uWebSockets.js app.publish, same client process code.
  ctx.log(`w2 baseline: bare uWS, ${N} clients, ${M} messages`);
  const server = await track(ctx, await startUwsBaseline(await freePort()));
  let base;
  try {
    const w = await track(ctx, new ClientWorker('w2-baseline-clients'));
    try {
      const opened = await w.open({
        port: server.port,
        paths: Array.from({ length: N }, () => '/ws'),
        sourceFirst: 2,
        sourceSpread: 8,
        concurrency: 100,
        timeoutMs: connectTimeout,
      });
      ctx.log(`  ${opened.open} connected in ${Math.round(opened.ms)} ms`);
      const { result } = await w.expect(expected, deliverTimeout);
      const t0 = now();
      const pub = (await (
        await fetch(`http://127.0.0.1:${server.port}/publish?count=${M}&batch=50&bytes=200`)
      ).json()) as { published: number; ms: number };
      const r = await result;
      base = { ...r, t0, publishMs: pub.ms, connectMs: opened.ms };
    } finally {
      await w.stop();
    }
  } finally {
    await server.stop();
  }
  const baseRate = base.frames / ((base.lastFrameAt - base.t0) / 1000);
  ctx.log(
    `  baseline ${Math.round(baseRate)} deliveries/s (${base.frames}/${expected}, reached=${base.reached})`,
  );

  // System: ingest → RabbitMQ → gateway → clients.
  ctx.log(`w2 notify: 1 gateway, ${N} clients on public.bench, ${M} messages via ingest`);
  const cluster = await benchCluster(ctx);
  let sys;
  let viaAmqp;
  try {
    const toks = await tokens('w2', N);
    const w = await track(ctx, new ClientWorker('w2-notify-clients'));
    try {
      const opened = await w.open({
        port: gatewayPort(cluster),
        paths: toks.map((t) => `/v1/ws?token=${t}&device=bench`),
        subscribe: 'public.bench',
        sourceFirst: 2,
        sourceSpread: 8,
        concurrency: 100,
        timeoutMs: connectTimeout,
      });
      ctx.log(`  ${opened.open} connected and subscribed in ${Math.round(opened.ms)} ms`);
      const { result } = await w.expect(expected, deliverTimeout);
      const data = 'x'.repeat(48); // gateway frame ≈ 200 bytes with channel, offset, id and createdAt
      const { hostname, port } = new URL(cluster.ingestUrl);
      const http = new KeepAliveClient(hostname, Number(port), POSTS_IN_FLIGHT);
      const headers = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };
      const t0 = now();
      let next = 0;
      let failed = 0;
      const poster = async (): Promise<void> => {
        while (next < M) {
          const i = next++;
          const body = JSON.stringify({ data, idempotencyKey: `w2-${i}` });
          const res = await http.request('POST', '/v1/channels/public.bench/messages', headers, body);
          if (res.status !== 202) failed++;
        }
      };
      await Promise.all(Array.from({ length: POSTS_IN_FLIGHT }, poster)).finally(() => http.close());
      const publishMs = now() - t0;
      const r = await result;
      sys = { ...r, t0, publishMs, failed, connectMs: opened.ms };

      // Same clients, producer through AMQP (`notify.ingest`, routing `channel.public.bench`,
      // persistent, confirms per 100) to see how much of the gap is the HTTP producer path.
      ctx.log(`  same clients, ${M} messages via AMQP notify.ingest`);
      const { connection, channel } = await cluster.amqp();
      try {
        const second = await w.expect(expected, deliverTimeout);
        const a0 = now();
        for (let i = 0; i < M;) {
          const end = Math.min(M, i + 100);
          for (; i < end; i++) {
            channel.publish('notify.ingest', 'channel.public.bench', Buffer.from(JSON.stringify({ data })), {
              persistent: true,
              messageId: `w2-amqp-${i}`,
              contentType: 'application/json',
            });
          }
          await channel.waitForConfirms();
        }
        const amqpPublishMs = now() - a0;
        const ra = await second.result;
        viaAmqp = { ...ra, t0: a0, publishMs: amqpPublishMs };
      } finally {
        await connection.close().catch(() => undefined);
      }
    } finally {
      await w.stop();
    }
  } finally {
    await cluster.stop();
  }
  const sysRate = sys.frames / ((sys.lastFrameAt - sys.t0) / 1000);
  ctx.log(`  notify ${Math.round(sysRate)} deliveries/s (${sys.frames}/${expected}, reached=${sys.reached})`);

  const ratio = sysRate / baseRate;
  const notes = [
    `N=${N.toLocaleString('en-US')} clients, M=${M} messages; ${expected.toLocaleString('en-US')} deliveries expected per side.`,
    `notify: ingest \`POST /v1/channels/public.bench/messages\` (${POSTS_IN_FLIGHT} concurrent, keep-alive, bench/lib/http-client), RabbitMQ, 1 gateway; ${sys.frames.toLocaleString('en-US')} delivered, ${sys.failed} posts refused, smallest count on one socket ${sys.minPerSocket}, ${sys.closedAfterReady} sockets closed; mean frame ${(sys.bytes / Math.max(1, sys.frames)).toFixed(0)} B; all ${M} posts answered in ${Math.round(sys.publishMs)} ms (${Math.round(M / (sys.publishMs / 1000))} msgs/s through ingest); connect+subscribe of ${N} took ${Math.round(sys.connectMs)} ms.`,
    `baseline: bare uWebSockets.js \`app.publish\` in its own process, 50 messages per event-loop turn, same socket limits as the gateway defaults; ${base.frames.toLocaleString('en-US')} delivered, smallest count on one socket ${base.minPerSocket}, ${base.closedAfterReady} sockets closed; mean frame ${(base.bytes / Math.max(1, base.frames)).toFixed(0)} B; publishing took ${Math.round(base.publishMs)} ms.`,
    `Time = first publish request → last frame counted at the clients. Clients are raw node:net sockets in one separate process, counting frame headers only.`,
    `Ceiling from the producer side: notify can deliver at most N × (messages/s accepted by ingest) = ${N.toLocaleString('en-US')} × ${Math.round(M / (sys.publishMs / 1000))} ≈ ${Math.round((N * M) / (sys.publishMs / 1000)).toLocaleString('en-US')} deliveries/s in this run; below ~10,000 subscribers the ingest → PostgreSQL → RabbitMQ path per message, not the gateway's fan-out, bounds this figure. The baseline publishes from memory with no producer path at all.`,
    `${SHARED}; the single client process receiving every frame is a ceiling for both sides.`,
  ];
  if (!sys.reached || !base.reached)
    notes.push(
      `INCOMPLETE: notify reached=${sys.reached}, baseline reached=${base.reached} before the ${deliverTimeout / 1000} s timeout; rates are computed from what arrived.`,
    );
  const amqpRate = viaAmqp ? viaAmqp.frames / ((viaAmqp.lastFrameAt - viaAmqp.t0) / 1000) : NaN;
  const amqpRatio = amqpRate / baseRate;
  const amqpFigure: Figure | undefined = viaAmqp && {
    id: 'w2-amqp',
    workload: 'W2 fan-out',
    metric: `deliveries/s at clients, N=${N.toLocaleString('en-US')}, producer via AMQP`,
    unit: 'deliveries/s',
    system: amqpRate,
    baselineName: 'bare uWS publish',
    baseline: baseRate,
    ratio: amqpRatio,
    target: { text: '≥ 0.8×', met: amqpRatio >= 0.8 && viaAmqp.reached },
    notes: [
      `Same clients and gateway as the row above, same baseline; the ${M} messages are published by amqplib to \`notify.ingest\` (routing \`channel.public.bench\`, persistent, confirms per 100) instead of HTTP, then ingest stores each and publishes the delivery as usual.`,
      `${viaAmqp.frames.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} delivered (reached=${viaAmqp.reached}), smallest count on one socket ${viaAmqp.minPerSocket}; publishing took ${Math.round(viaAmqp.publishMs)} ms; first publish → last frame ${Math.round(viaAmqp.lastFrameAt - viaAmqp.t0)} ms (${Math.round(M / ((viaAmqp.lastFrameAt - viaAmqp.t0) / 1000))} messages/s through ingest end to end).`,
      `${SHARED}.`,
    ],
    raw: { N, M, expected, notify: viaAmqp },
  };
  const httpFigure: Figure = {
    id: 'w2-http',
    workload: 'W2 fan-out',
    metric: `deliveries/s at clients, N=${N.toLocaleString('en-US')}, producer via HTTP`,
    unit: 'deliveries/s',
    system: sysRate,
    baselineName: 'bare uWS publish',
    baseline: baseRate,
    ratio,
    target: { text: '≥ 0.8×', met: ratio >= 0.8 && sys.reached },
    notes,
    raw: { N, M, expected, notify: sys, baseline: base },
  };
  return amqpFigure ? [httpFigure, amqpFigure] : [httpFigure];
}
