import { createTestDatabase, freePort, TEST_JWT_SECRET } from '@notify/testing';
import { HTTP_IN_FLIGHT, maxRun, pacedRun, type Producer, type Run } from '../lib/producers';
import { now } from '../lib/proc';
import type { Figure } from '../lib/results';
import { SioClientWorker } from '../lib/sio-clients';
import { postToPeer, startSocketIoPeer } from '../lib/socketio-peer';
import { tokens, track, type RunContext } from './common';

const WORKLOAD = 'W5 vs Socket.IO';
const LOAD = 0.5;
const BODY = 'y'.repeat(120);
// The producer shape of notify's W1 over HTTP (bench/lib/producers httpProducer): one notification per
// request, HTTP_IN_FLIGHT requests in flight. A peer fed requests of 250 would compare its producer's batching, which
// notify's API does not offer for distinct notifications, not the servers.
const POST_ITEMS = 1;
/** notify's figure with the same producer shape. */
const NOTIFY_FIGURE = 'w1-http';

type Mode = 'postgres' | 'plain';

interface PeerRun {
  mode: Mode;
  max: Run;
  maxRate: number;
  paced: Run;
  pacedRate: number;
}

/** Targeted notifications into the Socket.IO peer's `POST /notify`, each carrying `data.t` = send time. */
function sioProducer(port: number, prefix: string): Producer {
  const post = async (users: readonly number[]): Promise<void> => {
    const createdAt = new Date().toISOString();
    const items = users.map((u) => ({
      userId: `${prefix}-${u}`,
      notification: { id: '', topic: 'bench', title: 'Benchmark', body: BODY, createdAt, data: { t: now() } },
    }));
    await postToPeer(port, items);
  };
  return {
    refused: 0,
    async send(users) {
      const chunks: (readonly number[])[] = [];
      for (let i = 0; i < users.length; i += POST_ITEMS) chunks.push(users.slice(i, i + POST_ITEMS));
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < chunks.length) await post(chunks[next++]);
      };
      await Promise.all(Array.from({ length: HTTP_IN_FLIGHT }, lane));
    },
    close: () => Promise.resolve(),
  };
}

/**
 * One Socket.IO peer measured as W1 measures notify: N acking clients, the maximum delivered/s of M
 * notifications sent as fast as the peer accepts them, then an open loop at half that rate with the
 * latency from the producer's send to the client's receive.
 */
async function measurePeer(
  ctx: RunContext,
  mode: Mode,
  o: { N: number; M: number; paceSeconds: number; sourceFirst: number; timeoutMs: number },
): Promise<PeerRun> {
  const database = mode === 'postgres' ? await createTestDatabase('notify_bench_sio') : undefined;
  const port = await freePort();
  const streamName = `notify-bench-w5-${mode}-${process.pid}-${Date.now()}`;
  const server = await track(
    ctx,
    await startSocketIoPeer(port, { streamName, jwtSecret: TEST_JWT_SECRET, storeUrl: database?.url }),
  );
  const prefix = `w5${mode[0]}`;
  try {
    const clients = await track(ctx, new SioClientWorker(`w5-${mode}-clients`));
    try {
      const opened = await clients.open({
        port,
        tokens: await tokens(prefix, o.N),
        ack: true,
        latency: true,
        sourceFirst: o.sourceFirst,
        sourceSpread: 4,
        concurrency: 100,
        timeoutMs: o.timeoutMs,
      });
      ctx.log(`  Socket.IO (${mode}): ${opened.open} clients connected in ${Math.round(opened.ms)} ms`);
      const producer = sioProducer(port, prefix);
      const warm = await maxRun(clients, producer, o.N, o.N, o.timeoutMs);
      if (!warm.reached) throw new Error(`warm-up: ${warm.delivered} of ${o.N} delivered`);
      const max = await maxRun(clients, producer, o.M, o.N, o.timeoutMs);
      const maxRate = max.delivered / max.seconds;
      const pacedRate = Math.max(1, Math.round(maxRate * LOAD));
      const paced = await pacedRun(clients, producer, pacedRate, o.paceSeconds, o.N, o.timeoutMs);
      ctx.log(
        `  Socket.IO (${mode}): max ${Math.round(maxRate)} delivered/s; at ${pacedRate}/s p50 ${paced.latency?.p50.toFixed(1)} ms, p99 ${paced.latency?.p99.toFixed(1)} ms`,
      );
      return { mode, max, maxRate, paced, pacedRate };
    } finally {
      await clients.stop();
    }
  } finally {
    await server.stop();
    await database?.drop();
  }
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const ms = (x: number | undefined): string => (x === undefined ? '—' : `${x.toFixed(1)} ms`);

interface W1Raw {
  maxRate: number;
  paced: { load: number; rate: number; run: Run }[];
}

/**
 * The peer a team would actually build for durable notifications (Socket.IO + Redis Streams adapter +
 * an INSERT into PostgreSQL before each emit), beside the plain one that stores nothing, measured with
 * W1's method against notify's W1 figures of the same run.
 */
export async function storedPeerFigures(ctx: RunContext, sourceFirst: number): Promise<Figure[]> {
  const quick = ctx.quick;
  const o = {
    N: quick ? 2_000 : 10_000,
    M: quick ? 10_000 : 50_000,
    paceSeconds: quick ? 5 : 10,
    timeoutMs: quick ? 60_000 : 120_000,
  };
  const runs: PeerRun[] = [];
  for (const [i, mode] of (['postgres', 'plain'] as const).entries()) {
    ctx.log(`w5 W1 method against Socket.IO (${mode}): ${o.N} acking clients, ${o.M} notifications`);
    runs.push(await measurePeer(ctx, mode, { ...o, sourceFirst: sourceFirst + i * 5 }));
  }
  const notify = ctx.figures.find((f) => f.id === NOTIFY_FIGURE && Number.isFinite(f.system));
  const w1 = notify?.raw as W1Raw | undefined;
  const notifyHalf = w1?.paced.find((p) => p.load === LOAD);
  const method = (r: PeerRun): string =>
    `Socket.IO ${r.mode === 'postgres' ? '+ PostgreSQL' : '(stores nothing)'}: ${o.N.toLocaleString('en-US')} acking clients (raw Engine.IO 4 frames, one process); ${o.M.toLocaleString('en-US')} notifications POSTed to the peer's \`/notify\` one per request, ${HTTP_IN_FLIGHT} requests in flight (as notify's HTTP producer)${r.mode === 'postgres' ? ', each first committed by one INSERT into a `notifications` table (bigserial id, jsonb payload) in a database of its own, then emitted with `io.to(user).emit`' : ', emitted with `io.to(user).emit` at once'}: max ${n(r.maxRate)} delivered/s (${n(r.max.delivered)}/${n(r.max.sent)}, reached=${r.max.reached}); open loop at ${LOAD * 100}% = ${n(r.pacedRate)}/s for ${o.paceSeconds} s: p50 ${ms(r.paced.latency?.p50)}, p99 ${ms(r.paced.latency?.p99)}, p99.9 ${ms(r.paced.latency?.p999)} (${n(r.paced.delivered)}/${n(r.paced.sent)}).`;
  const notifyText = notify
    ? `notify: '${notify.id}' of this run: max ${n(notify.system)} delivered/s; at ${LOAD * 100}% of its own max (${n(notifyHalf?.rate ?? NaN)}/s) p99 ${ms(notifyHalf?.run.latency?.p99)}. Same producer: one notification per HTTP request, ${HTTP_IN_FLIGHT} in flight, through the same HTTP client. Each notification is committed with its per-user seq (and the broker's confirm) before the delivery, as the PostgreSQL peer commits its INSERT before the emit.`
    : "notify's W1 figures are missing from this run: no comparison (target not met).";
  const shared = [
    "Same method on both sides (bench/lib/producers maxRun and pacedRun, latency = client receive − `data.t` on one clock) and the same load generator: one lean keep-alive HTTP/1.1 client (bench/lib/http-client), ~80–110 µs of CPU per request here; before 2026-12-05 the peers were fed through `fetch` (~550–840 µs per request) and notify through `node:http` (~160–250 µs), which held the peers' maxima down by up to 4×. Each system runs at half of its own maximum, so the faster one is measured at the higher rate.",
    'The peers share the 2 cores with Redis and PostgreSQL as notify does with RabbitMQ and PostgreSQL.',
  ];
  const figures: Figure[] = [];
  for (const r of runs) {
    const label = r.mode === 'postgres' ? 'Socket.IO + PostgreSQL INSERT' : 'Socket.IO, stores nothing';
    const rate = notify ? notify.system / r.maxRate : NaN;
    figures.push({
      id: `w5-w1-${r.mode}`,
      workload: WORKLOAD,
      metric: `W1 method: delivered/s vs ${label}`,
      unit: 'delivered/s',
      system: notify?.system ?? NaN,
      baselineName: label,
      baseline: r.maxRate,
      ratio: rate,
      better: 'higher',
      target: r.mode === 'postgres' ? { text: '≥ 1×', met: rate >= 1 } : undefined,
      notes: [method(r), notifyText, ...shared],
      raw: { ...o, peer: r, notifyFigure: notify?.id ?? null },
    });
    const p99 = notifyHalf?.run.latency?.p99 ?? NaN;
    const peerP99 = r.paced.latency?.p99 ?? NaN;
    figures.push({
      id: `w5-p99-${r.mode}`,
      workload: WORKLOAD,
      metric: `W1 method: p99 latency at ${LOAD * 100}% load vs ${label}`,
      unit: 'ms',
      system: p99,
      baselineName: label,
      baseline: peerP99,
      ratio: p99 / peerP99,
      better: 'lower',
      target: r.mode === 'postgres' ? { text: '≤ 1×', met: p99 <= peerP99 } : undefined,
      notes: [method(r), notifyText, ...shared],
      raw: { ...o, peer: r, notifyFigure: notify?.id ?? null },
    });
  }
  return figures;
}
