import Pusher from 'pusher';
import { freePort } from '@notify/testing';
import { ClientWorker } from '../lib/clients';
import { afterBurst, afterStartup, burstsSoFar } from '../lib/gateway-compaction';
import { settledRss, sleep, type BaselineServer } from '../lib/proc';
import type { Figure } from '../lib/results';
import { ensureSoketi, SOKETI_APP, soketiVersion, startSoketi } from '../lib/soketi-peer';
import { benchCluster, gatewayPort, now, track, type RunContext } from './common';

const WORKLOAD = 'W7 Pusher vs Soketi';
const CHANNEL = 'bench';
const THROUGHPUT_TARGET = 5;
const MEMORY_TARGET = 1 / 3;
/** Source addresses of their own: not those of earlier workloads, whose sockets may be in TIME_WAIT. */
const SOURCE_FIRST = 80;

interface Side {
  idleRss: number;
  rss: number;
  perConnection: number;
  connectMs: number;
  frames: number;
  expected: number;
  reached: boolean;
  minPerSocket: number;
  seconds: number;
  rate: number;
}

const n = (v: number): string => Math.round(v).toLocaleString('en-US');

/**
 * N Pusher-protocol subscribers of one public channel on one server, then M events triggered one after
 * another through the server's Pusher HTTP API with the official `pusher` SDK; RSS per connection and
 * deliveries/s at the clients (first trigger → last frame). The same for Soketi and for notify.
 */
async function measure(
  ctx: RunContext,
  label: string,
  o: {
    pid: number;
    wsPort: number;
    apiPort: number;
    gatewayPort?: number;
    N: number;
    M: number;
    sourceFirst: number;
  },
): Promise<Side> {
  const pusher = new Pusher({
    appId: SOKETI_APP.id,
    key: SOKETI_APP.key,
    secret: SOKETI_APP.secret,
    host: '127.0.0.1',
    port: String(o.apiPort),
    useTLS: false,
  });
  const gateways = o.gatewayPort ? [o.gatewayPort] : [];
  if (o.gatewayPort) await afterStartup(gateways);
  else await sleep(2000);
  const idleRss = await settledRss(o.pid, 5, 400);
  const before = await burstsSoFar(gateways);
  const w = await track(ctx, new ClientWorker(`w7-${label}-clients`));
  try {
    const opened = await w.open({
      port: o.wsPort,
      paths: Array.from({ length: o.N }, () => `/app/${SOKETI_APP.key}?protocol=7&client=js&version=8.4.0`),
      pusherSubscribe: CHANNEL,
      sourceFirst: o.sourceFirst,
      sourceSpread: 4,
      concurrency: 100,
      timeoutMs: ctx.quick ? 60_000 : 180_000,
    });
    ctx.log(`  ${label}: ${opened.open} subscribed in ${Math.round(opened.ms)} ms`);
    await afterBurst(gateways, before);
    const rss = await settledRss(o.pid, 5, 400);
    const expected = o.N * o.M;
    const { result } = await w.expect(expected, ctx.quick ? 60_000 : 120_000);
    const data = JSON.stringify({ text: 'x'.repeat(150) });
    const t0 = now();
    for (let i = 0; i < o.M; i++) {
      const res = await pusher.trigger(CHANNEL, 'bench-event', data);
      if (res.status !== 200) throw new Error(`${label}: trigger answered ${res.status}`);
    }
    const r = await result;
    const seconds = (r.lastFrameAt - t0) / 1000;
    const side: Side = {
      idleRss,
      rss,
      perConnection: (rss - idleRss) / o.N,
      connectMs: opened.ms,
      frames: r.frames,
      expected,
      reached: r.reached,
      minPerSocket: r.minPerSocket,
      seconds,
      rate: r.frames / seconds,
    };
    ctx.log(
      `  ${label}: ${n(side.perConnection)} B/connection; ${n(side.rate)} deliveries/s (${r.frames}/${expected})`,
    );
    return side;
  } finally {
    await w.stop();
  }
}

/**
 * Workload 7: the Pusher protocol against Soketi, the Pusher-protocol server teams move from. Same
 * clients (raw WebSockets speaking Pusher protocol 7), same SDK triggering the events.
 */
export async function workload7(ctx: RunContext): Promise<Figure[]> {
  const N = ctx.quick ? 2_000 : 10_000;
  const M = ctx.quick ? 50 : 100;
  const installed = ensureSoketi(ctx.log);

  ctx.log(`w7 Soketi ${soketiVersion()} (${installed}): ${N} subscribers, ${M} events`);
  const soketi: BaselineServer = await track(ctx, await startSoketi(await freePort(), await freePort()));
  let peer: Side;
  try {
    peer = await measure(ctx, 'soketi', {
      pid: soketi.pid,
      wsPort: soketi.port,
      apiPort: soketi.port,
      N,
      M,
      sourceFirst: SOURCE_FIRST,
    });
  } finally {
    await soketi.stop();
  }

  ctx.log(`w7 notify in Pusher mode: 1 gateway, ${N} subscribers, ${M} events through ingest`);
  const cluster = await benchCluster(ctx, 1, {
    NOTIFY_PUSHER_APPS: `${SOKETI_APP.id}:${SOKETI_APP.key}:${SOKETI_APP.secret}`,
  });
  let sys: Side;
  try {
    const port = gatewayPort(cluster);
    sys = await measure(ctx, 'notify', {
      pid: cluster.gateways[0].child.pid!,
      wsPort: port,
      apiPort: Number(new URL(cluster.ingestUrl).port),
      gatewayPort: port,
      N,
      M,
      sourceFirst: SOURCE_FIRST + 5,
    });
  } finally {
    await cluster.stop();
  }

  const method = [
    `Clients: ${N.toLocaleString('en-US')} raw WebSockets in one process speaking Pusher protocol 7 (\`/app/<key>?protocol=7\`, \`pusher:subscribe\` to the public channel \`${CHANNEL}\`, ready at \`pusher_internal:subscription_succeeded\`), frames counted from their headers. Events: ${M} triggered one after another (each awaited) through the server's Pusher HTTP API with the official \`pusher\` server SDK, ~170 bytes of data each.`,
    `Soketi ${soketiVersion()} from npm in its own folder (bench/peers/soketi, installed on demand, its uWebSockets.js overridden to the build the gateway runs on), one app, metrics off, no limits; it sends each event to each socket from JavaScript.`,
    'notify: ingest (the Pusher HTTP API; each event is stored with an offset in PostgreSQL, then published), RabbitMQ, one gateway (the Pusher adapter builds the frame once per node per event).',
    'RSS per connection = (RSS with N subscribers − RSS with none) ÷ N, median of 5 samples; the gateway sampled 3 s after its compacting GC, Soketi 6 s after the last connection.',
    'Server, broker, database and the client process share the 2 cores.',
  ];
  const incomplete = !sys.reached || !peer.reached;
  const throughput = sys.rate / peer.rate;
  const memory = sys.perConnection / peer.perConnection;
  const raw = { N, M, soketi: peer, notify: sys };
  return [
    {
      id: 'w7-deliveries',
      workload: WORKLOAD,
      metric: `deliveries/s, ${N.toLocaleString('en-US')} subscribers of one channel`,
      unit: 'deliveries/s',
      system: sys.rate,
      baselineName: `Soketi ${soketiVersion()}`,
      baseline: peer.rate,
      ratio: throughput,
      target: { text: `≥ ${THROUGHPUT_TARGET}×`, met: !incomplete && throughput >= THROUGHPUT_TARGET },
      notes: [
        `Soketi: ${n(peer.frames)}/${n(peer.expected)} delivered in ${peer.seconds.toFixed(2)} s (smallest count on one socket ${peer.minPerSocket}); notify: ${n(sys.frames)}/${n(sys.expected)} in ${sys.seconds.toFixed(2)} s (smallest ${sys.minPerSocket}).`,
        ...method,
      ],
      raw,
    },
    {
      id: 'w7-memory',
      workload: WORKLOAD,
      metric: `RSS per subscribed connection, N=${N.toLocaleString('en-US')}`,
      unit: 'B/conn',
      system: sys.perConnection,
      baselineName: `Soketi ${soketiVersion()}`,
      baseline: peer.perConnection,
      ratio: memory,
      target: { text: '≤ 0.33×', met: memory <= MEMORY_TARGET },
      notes: [
        `Soketi RSS ${(peer.idleRss / 2 ** 20).toFixed(1)} → ${(peer.rss / 2 ** 20).toFixed(1)} MiB; gateway ${(sys.idleRss / 2 ** 20).toFixed(1)} → ${(sys.rss / 2 ** 20).toFixed(1)} MiB.`,
        ...method,
      ],
      raw,
    },
  ];
}
