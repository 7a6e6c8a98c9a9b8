import { freePort } from '@notify/testing';
import { ClientWorker } from '../lib/clients';
import { afterBurst, afterStartup, burstsSoFar, SETTLE_MS } from '../lib/gateway-compaction';
import { settledRss, sleep, startUwsBaseline, type BaselineServer } from '../lib/proc';
import type { Figure } from '../lib/results';
import { benchCluster, gatewayPort, tokens, track, type RunContext } from './common';

interface Node {
  pid: number;
  port: number;
  /** A gateway: each sample waits for its compaction after the burst. */
  gateway: boolean;
}

interface Step {
  total: number;
  rss: number;
  perConnection: number;
  perNode: number[];
}

/**
 * Idle connections spread evenly over `nodes`, one client process per node (≤ 19,000 each), opened in
 * cumulative steps (`totals`), with every node's RSS sampled after each step.
 */
async function measureCluster(
  ctx: RunContext,
  label: string,
  nodes: Node[],
  totals: number[],
  paths: (from: number, count: number) => Promise<string[]>,
): Promise<{ idleRss: number; steps: Step[] }> {
  const last = totals[totals.length - 1];
  const per = Math.ceil(last / nodes.length);
  if (per > 19_000)
    throw new Error(`${per} connections per node is over the 19,000 one process can hold here`);
  const gateways = nodes.filter((n) => n.gateway).map((n) => n.port);
  await sleep(2000);
  // The zero point: after each gateway's compaction at startup, as every later sample is after one.
  await afterStartup(gateways);
  const idle: number[] = [];
  for (const n of nodes) idle.push(await settledRss(n.pid));
  const idleRss = idle.reduce((a, b) => a + b, 0);
  const workers = await Promise.all(
    nodes.map((_, j) => track(ctx, new ClientWorker(`${label}-clients-${j}`))),
  );
  const onNode = nodes.map(() => 0);
  const steps: Step[] = [];
  try {
    let have = 0;
    for (const total of totals) {
      const before = await burstsSoFar(gateways);
      for (let j = 0; j < nodes.length; j++) {
        const count = Math.min(Math.ceil(total / nodes.length) - onNode[j], total - have);
        if (count <= 0) continue;
        const opened = await workers[j].open({
          port: nodes[j].port,
          paths: await paths(have, count),
          sourceFirst: 2 + j * 4,
          sourceSpread: 4,
          concurrency: 100,
          timeoutMs: 180_000,
        });
        have += count;
        onNode[j] += count;
        ctx.log(
          `  ${label}: node ${j} +${count} connected in ${Math.round(opened.ms)} ms (${have}/${total})`,
        );
      }
      await afterBurst(gateways, before);
      const rss: number[] = [];
      for (const n of nodes) rss.push(await settledRss(n.pid, 5, 400));
      let open = 0;
      for (const w of workers) open += (await w.status()).open;
      if (open !== total) throw new Error(`${label}: ${open} of ${total} sockets still open`);
      const sum = rss.reduce((a, b) => a + b, 0);
      steps.push({ total, rss: sum, perConnection: (sum - idleRss) / total, perNode: rss });
    }
    return { idleRss, steps };
  } finally {
    for (const w of workers) await w.stop();
  }
}

const NODES = 6;
const TOTALS = [50_000, 100_000];

/**
 * Workload 3 at cluster scale: 50,000 and 100,000 idle authenticated connections cannot be held by
 * one process here (20,000 open files per process), so they are spread over 6 gateway nodes (≈8,300
 * then ≈16,700 each), each fed by its own client process, against as many bare uWS processes.
 */
export async function workload3Cluster(ctx: RunContext): Promise<Figure[]> {
  if (ctx.quick)
    throw new Error('cluster-scale memory (50k/100k) runs only in the full run (`npm run bench`)');
  ctx.log(`w3c baseline: ${TOTALS.join(' then ')} idle connections over ${NODES} bare uWS processes`);
  const servers: BaselineServer[] = [];
  let base;
  try {
    for (let j = 0; j < NODES; j++)
      servers.push(await track(ctx, await startUwsBaseline(await freePort(), false)));
    base = await measureCluster(
      ctx,
      'w3c-baseline',
      servers.map((s) => ({ pid: s.pid, port: s.port, gateway: false })),
      TOTALS,
      async (_f, c) => Array.from({ length: c }, () => '/ws'),
    );
  } finally {
    for (const s of servers) await s.stop();
  }

  ctx.log(`w3c notify: ${TOTALS.join(' then ')} idle authenticated connections over ${NODES} gateways`);
  // A smaller database pool per gateway: six of them share one PostgreSQL.
  const cluster = await benchCluster(ctx, NODES, { NOTIFY_DB_POOL_SIZE: '4' });
  let sys;
  try {
    sys = await measureCluster(
      ctx,
      'w3c-notify',
      cluster.gateways.map((g, j) => ({ pid: g.child.pid!, port: gatewayPort(cluster, j), gateway: true })),
      TOTALS,
      async (from, c) => (await tokens(`w3c-${from}`, c)).map((t) => `/v1/ws?token=${t}&device=bench`),
    );
  } finally {
    await cluster.stop();
  }
  const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
  return TOTALS.map((total, i) => {
    const s = sys.steps[i];
    const b = base.steps[i];
    const ratio = s.perConnection / b.perConnection;
    ctx.log(
      `  ${total}: notify ${s.perConnection.toFixed(0)} B/connection, bare uWS ${b.perConnection.toFixed(0)}`,
    );
    return {
      id: `w3c-${total}`,
      workload: 'W3 memory',
      metric: `RSS per idle connection, N=${total.toLocaleString('en-US')} over ${NODES} nodes`,
      unit: 'B/conn',
      system: s.perConnection,
      baselineName: `bare uWS ×${NODES}`,
      baseline: b.perConnection,
      ratio,
      target: { text: '≤ 1.5×', met: ratio <= 1.5 },
      notes: [
        `One node cannot hold ${total.toLocaleString('en-US')} sockets here (20,000 open files per process), so ${NODES} gateway processes hold ≈${Math.ceil(total / NODES).toLocaleString('en-US')} each, one client process per node; per connection = (sum of node RSS with N − sum with 0) ÷ N. The 50,000 step is taken on the way to 100,000, on the same nodes.`,
        `notify: ${NODES} gateways, ${mib(sys.idleRss)} MiB idle in total, ${mib(s.rss)} MiB with ${total.toLocaleString('en-US')} connections (per node: ${s.perNode.map(mib).join(', ')} MiB); NOTIFY_DB_POOL_SIZE=4.`,
        `bare uWS: ${NODES} processes, ${mib(base.idleRss)} MiB idle in total, ${mib(b.rss)} MiB with ${total.toLocaleString('en-US')} connections.`,
        `Sampled 3 s after every gateway's compacting GC (runtime/burst-compaction.ts, 2–3 s after its last connection), and ${SETTLE_MS / 1000} s after the last connection for bare uWS; the gateways' RSS with 0 after their compaction at startup.`,
        ...(i > 0
          ? [
              `Marginal cost from ${TOTALS[i - 1].toLocaleString('en-US')} to ${total.toLocaleString('en-US')} connections: notify ${((s.rss - sys.steps[i - 1].rss) / (total - TOTALS[i - 1])).toFixed(0)} B/conn, bare uWS ${((b.rss - base.steps[i - 1].rss) / (total - TOTALS[i - 1])).toFixed(0)} B/conn.`,
            ]
          : [
              `With ≈${Math.ceil(total / NODES).toLocaleString('en-US')} sockets per node, part of what they take is slack an idle gateway already holds (free heap and malloc memory left by starting up), so this step can come out below bare uWS; the marginal cost to the next step is in its notes.`,
            ]),
        'This is memory per connection of a cluster, not of one node holding them all; it says nothing about one process beyond 19,000 connections.',
        'Load generator, broker, database and all nodes share the same 2 cores.',
      ],
      raw: {
        total,
        nodes: NODES,
        notify: { idleRss: sys.idleRss, ...s },
        baseline: { idleRss: base.idleRss, ...b },
      },
    } satisfies Figure;
  });
}
