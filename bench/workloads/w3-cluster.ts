import { freePort } from '@notify/testing';
import { ClientWorker } from '../lib/clients';
import { settledRss, sleep, startUwsBaseline, type BaselineServer } from '../lib/proc';
import type { Figure } from '../lib/results';
import { benchCluster, gatewayPort, tokens, track, type RunContext } from './common';

interface Node {
  pid: number;
  port: number;
}

/** Total idle connections spread evenly over `nodes`, one client process per node (≤ 19,000 each). */
async function measureCluster(
  ctx: RunContext,
  label: string,
  nodes: Node[],
  total: number,
  paths: (from: number, count: number) => Promise<string[]>,
): Promise<{ idleRss: number; rss: number; perConnection: number; perNode: number[] }> {
  const per = Math.ceil(total / nodes.length);
  if (per > 19_000)
    throw new Error(`${per} connections per node is over the 19,000 one process can hold here`);
  await sleep(2000);
  const idle: number[] = [];
  for (const n of nodes) idle.push(await settledRss(n.pid));
  const workers: ClientWorker[] = [];
  try {
    let have = 0;
    for (let j = 0; j < nodes.length; j++) {
      const count = Math.min(per, total - have);
      const w = await track(ctx, new ClientWorker(`${label}-clients-${j}`));
      workers.push(w);
      const opened = await w.open({
        port: nodes[j].port,
        paths: await paths(have, count),
        sourceFirst: 2 + j * 4,
        sourceSpread: 4,
        concurrency: 100,
        timeoutMs: 180_000,
      });
      have += count;
      ctx.log(`  ${label}: node ${j} +${count} connected in ${Math.round(opened.ms)} ms (${have}/${total})`);
    }
    await sleep(3000);
    const rss: number[] = [];
    for (const n of nodes) rss.push(await settledRss(n.pid, 5, 400));
    let open = 0;
    for (const w of workers) open += (await w.status()).open;
    if (open !== total) throw new Error(`${label}: ${open} of ${total} sockets still open`);
    const idleRss = idle.reduce((a, b) => a + b, 0);
    const sum = rss.reduce((a, b) => a + b, 0);
    return { idleRss, rss: sum, perConnection: (sum - idleRss) / total, perNode: rss };
  } finally {
    for (const w of workers) await w.stop();
  }
}

/**
 * Workload 3 at cluster scale: 50,000 and 100,000 idle authenticated connections cannot be held by
 * one process here (20,000 open files per process), so they are spread over 3 and 6 gateway nodes
 * (≈16,700 each), each fed by its own client process, against as many bare uWS processes.
 */
export async function workload3Cluster(ctx: RunContext): Promise<Figure[]> {
  if (ctx.quick)
    throw new Error('cluster-scale memory (50k/100k) runs only in the full run (`npm run bench`)');
  const sizes: Array<[total: number, nodes: number]> = [
    [50_000, 3],
    [100_000, 6],
  ];
  const figures: Figure[] = [];
  for (const [total, count] of sizes) {
    ctx.log(`w3c baseline: ${total} idle connections over ${count} bare uWS processes`);
    const servers: BaselineServer[] = [];
    let base;
    try {
      for (let j = 0; j < count; j++)
        servers.push(await track(ctx, await startUwsBaseline(await freePort(), false)));
      base = await measureCluster(
        ctx,
        `w3c-baseline-${total}`,
        servers.map((s) => ({ pid: s.pid, port: s.port })),
        total,
        async (_f, c) => Array.from({ length: c }, () => '/ws'),
      );
    } finally {
      for (const s of servers) await s.stop();
    }
    ctx.log(`  bare uWS: ${base.perConnection.toFixed(0)} B/connection`);

    ctx.log(`w3c notify: ${total} idle authenticated connections over ${count} gateways`);
    // A smaller database pool per gateway: the shared PostgreSQL serves other test runs too.
    const cluster = await benchCluster(ctx, count, { NOTIFY_DB_POOL_SIZE: '4' });
    let sys;
    try {
      sys = await measureCluster(
        ctx,
        `w3c-notify-${total}`,
        cluster.gateways.map((g, j) => ({ pid: g.child.pid!, port: gatewayPort(cluster, j) })),
        total,
        async (from, c) =>
          (await tokens(`w3c-${total}-${from}`, c)).map((t) => `/v1/ws?token=${t}&device=bench`),
      );
    } finally {
      await cluster.stop();
    }
    ctx.log(`  notify: ${sys.perConnection.toFixed(0)} B/connection`);
    const ratio = sys.perConnection / base.perConnection;
    figures.push({
      workload: 'W3 memory',
      metric: `RSS per idle connection, N=${total.toLocaleString('en-US')} over ${count} nodes`,
      unit: 'B/conn',
      system: sys.perConnection,
      baselineName: `bare uWS ×${count}`,
      baseline: base.perConnection,
      ratio,
      target: { text: '≤ 1.5×', met: ratio <= 1.5 },
      notes: [
        `One node cannot hold ${total.toLocaleString('en-US')} sockets here (20,000 open files per process), so ${count} gateway processes hold ≈${Math.ceil(total / count).toLocaleString('en-US')} each, one client process per node; per connection = (sum of node RSS with N − sum with 0) ÷ N.`,
        `notify: ${count} gateways, ${(sys.idleRss / 2 ** 20).toFixed(0)} MiB idle in total, ${(sys.rss / 2 ** 20).toFixed(0)} MiB with ${total.toLocaleString('en-US')} connections (per node: ${sys.perNode.map((r) => (r / 2 ** 20).toFixed(0)).join(', ')} MiB); NOTIFY_DB_POOL_SIZE=4.`,
        `bare uWS: ${count} processes, ${(base.idleRss / 2 ** 20).toFixed(0)} MiB idle in total, ${(base.rss / 2 ** 20).toFixed(0)} MiB with ${total.toLocaleString('en-US')} connections.`,
        'This is memory per connection of a cluster, not of one node holding them all; it says nothing about one process beyond 19,000 connections.',
        'Load generator, broker, database and all nodes share the same 2 cores.',
      ],
      raw: { total, nodes: count, notify: sys, baseline: base },
    });
  }
  return figures;
}
