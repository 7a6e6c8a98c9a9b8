import { freePort } from '@notify/testing';
import { ClientWorker } from '../lib/clients';
import { settledRss, sleep, startUwsBaseline } from '../lib/proc';
import type { Figure } from '../lib/results';
import { benchCluster, gatewayPort, tokens, track, type RunContext } from './common';

/** Per process: 19,000 sockets stay under the 20,000 open files this machine allows. */
const PER_WORKER = 19_000;

interface Sample {
  connections: number;
  rssBytes: number;
  perConnectionBytes: number;
}

/**
 * Opens connections in steps up to each size in `sizes` (cumulative), sampling the server's RSS after
 * each step; `paths(from, count)` gives the request paths of a step.
 */
async function measure(
  ctx: RunContext,
  label: string,
  pid: number,
  port: number,
  sizes: number[],
  paths: (from: number, count: number) => Promise<string[]>,
): Promise<{ idleRss: number; samples: Sample[] }> {
  await sleep(2000);
  const idleRss = await settledRss(pid);
  const samples: Sample[] = [];
  const workers: ClientWorker[] = [];
  try {
    let have = 0;
    let worker: ClientWorker | undefined;
    let inWorker = 0;
    let source = 2;
    for (const size of sizes) {
      while (have < size) {
        if (!worker || inWorker >= PER_WORKER) {
          worker = await track(ctx, new ClientWorker(`${label}-clients-${workers.length}`));
          workers.push(worker);
          inWorker = 0;
        }
        const count = Math.min(size - have, PER_WORKER - inWorker);
        const opened = await worker.open({
          port,
          paths: await paths(have, count),
          sourceFirst: source,
          sourceSpread: 4,
          concurrency: 100,
          timeoutMs: ctx.quick ? 60_000 : 180_000,
        });
        source += 4;
        ctx.log(`  ${label}: +${count} connected in ${Math.round(opened.ms)} ms`);
        have += count;
        inWorker += count;
      }
      await sleep(3000);
      const rssBytes = await settledRss(pid, 5, 400);
      let open = 0;
      for (const w of workers) open += (await w.status()).open;
      if (open !== size) throw new Error(`${label}: ${open} of ${size} sockets still open`);
      samples.push({ connections: size, rssBytes, perConnectionBytes: (rssBytes - idleRss) / size });
      ctx.log(
        `  ${label} @${size}: RSS ${(rssBytes / 2 ** 20).toFixed(1)} MiB, ${((rssBytes - idleRss) / size).toFixed(0)} B/connection`,
      );
    }
  } finally {
    for (const w of workers) await w.stop();
  }
  return { idleRss, samples };
}

/** Workload 3: RSS per idle authenticated connection, gateway vs bare uWS. */
export async function workload3(ctx: RunContext): Promise<Figure[]> {
  const sizes = ctx.quick ? [2_000] : [10_000, 19_000];

  ctx.log(`w3 baseline: bare uWS, idle connections ${sizes.join(', ')}`);
  const server = await track(ctx, await startUwsBaseline(await freePort(), false));
  let base;
  try {
    base = await measure(ctx, 'w3-baseline', server.pid, server.port, sizes, async (_from, count) =>
      Array.from({ length: count }, () => '/ws'),
    );
  } finally {
    await server.stop();
  }

  ctx.log(`w3 notify: 1 gateway, idle authenticated connections ${sizes.join(', ')}`);
  const cluster = await benchCluster(ctx);
  let sys;
  try {
    const gw = cluster.gateways[0];
    sys = await measure(ctx, 'w3-notify', gw.child.pid!, gatewayPort(cluster), sizes, async (from, count) =>
      (await tokens(`w3-${from}`, count)).map((t) => `/v1/ws?token=${t}&device=bench`),
    );
  } finally {
    await cluster.stop();
  }

  return sizes.map((size, i) => {
    const s = sys.samples[i];
    const b = base.samples[i];
    const ratio = s.perConnectionBytes / b.perConnectionBytes;
    return {
      id: `w3-${size}`,
      workload: 'W3 memory',
      metric: `RSS per idle connection, N=${size.toLocaleString('en-US')}`,
      unit: 'B/conn',
      system: s.perConnectionBytes,
      baselineName: 'bare uWS',
      baseline: b.perConnectionBytes,
      ratio,
      target: { text: '≤ 1.5×', met: ratio <= 1.5 },
      notes: [
        `notify gateway: RSS ${(sys.idleRss / 2 ** 20).toFixed(1)} MiB with 0 connections, ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB with ${size.toLocaleString('en-US')} idle authenticated connections (one user each, JWT at upgrade, \`ready\` received, user binding made, no channel).`,
        `bare uWS: ${(base.idleRss / 2 ** 20).toFixed(1)} MiB idle, ${(b.rssBytes / 2 ** 20).toFixed(1)} MiB with ${size.toLocaleString('en-US')} connections (no auth, no subscription).`,
        'Per connection = (RSS with N − RSS with 0) ÷ N; RSS is the median of 5 samples taken 3 s after the last connection was ready. The gateway figure includes V8 heap not yet collected.',
        'Clients: raw node:net sockets in separate processes (≤ 19,000 each), spread over source addresses 127.0.0.2 and up; they share the 2 cores.',
        ...(i > 0
          ? [
              `Marginal cost from ${sizes[i - 1].toLocaleString('en-US')} to ${size.toLocaleString('en-US')} connections (fixed warm-up costs removed): notify ${((s.rssBytes - sys.samples[i - 1].rssBytes) / (size - sizes[i - 1])).toFixed(0)} B/conn, bare uWS ${((b.rssBytes - base.samples[i - 1].rssBytes) / (size - sizes[i - 1])).toFixed(0)} B/conn.`,
            ]
          : []),
      ],
      raw: { size, notify: { idleRss: sys.idleRss, ...s }, baseline: { idleRss: base.idleRss, ...b } },
    };
  });
}
