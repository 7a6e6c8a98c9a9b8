import { measureLatencyFloor, type FloorSummary } from '../lib/latency-floor';
import { pacedRun, type Path, type Run } from '../lib/producers';
import type { Figure } from '../lib/results';
import { scrapeStages, stageMeans } from '../lib/stage-metrics';
import { benchCluster, gatewayPort, openAckingClients, producerFor, warmUp, type RunContext } from './common';

/** Light loads, notifications/s: where a realtime product is judged first. */
const RATES = [100, 1000];
const TARGET_P50_MS = 2;
const TARGET_P99_MS = 10;
const TARGET_RATIO = 3;
/** The paced floor's pause between iterations: 100/s's interval. */
const PACED_FLOOR_PAUSE_MS = 10;

const ms = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)} ms`;

/**
 * Workload 6: latency at light load. U users with one connected, acking client each on 1 gateway;
 * notifications at 100/s and 1,000/s (open loop), via HTTP and via AMQP; producer send → client
 * receive. Baseline: the raw floor (one PostgreSQL commit, one AMQP hop, one bare uWS send, chained in
 * one process). Each row also gives the mean of each stage from the services' /metrics.
 */
export async function workload6(ctx: RunContext): Promise<Figure[]> {
  const U = ctx.quick ? 2_000 : 10_000;
  const seconds = ctx.quick ? 2 : 5;
  const timeoutMs = ctx.quick ? 60_000 : 120_000;
  const cluster = await benchCluster(ctx);
  try {
    ctx.log('w6 baseline: the raw floor (PostgreSQL commit → AMQP hop → bare uWS send), 500 in a row');
    const floor = await measureLatencyFloor(cluster.vhost.url, cluster.db.url, 500);
    ctx.log(
      `  floor p50 ${ms(floor.p50)}, p99 ${ms(floor.p99)} (commit ${ms(floor.hops.commit)}, amqp ${ms(floor.hops.amqp)}, ws ${ms(floor.hops.ws)})`,
    );
    // The same hops at 100/s's pace: what going idle between notifications costs before any of ours.
    const paced = await measureLatencyFloor(cluster.vhost.url, cluster.db.url, 300, PACED_FLOOR_PAUSE_MS);
    ctx.log(
      `  floor paced (${PACED_FLOOR_PAUSE_MS} ms between) p50 ${ms(paced.p50)}, p99 ${ms(paced.p99)} (commit ${ms(paced.hops.commit)}, amqp ${ms(paced.hops.amqp)}, ws ${ms(paced.hops.ws)})`,
    );
    const w = await openAckingClients(ctx, cluster, 'w6', U, timeoutMs);
    const figures: Figure[] = [];
    const services = [cluster.ingestUrl, `http://127.0.0.1:${gatewayPort(cluster)}`];
    try {
      for (const path of ['http', 'amqp'] as Path[]) {
        const producer = await producerFor(cluster, path, 'w6');
        try {
          await warmUp(w, producer, U, timeoutMs);
          for (const rate of RATES) {
            const before = await scrapeStages(services);
            const run = await pacedRun(w, producer, rate, seconds, U, timeoutMs);
            const stages = stageMeans(before, await scrapeStages(services));
            ctx.log(
              `  ${path} at ${rate}/s: p50 ${ms(run.latency?.p50)}, p99 ${ms(run.latency?.p99)} (${run.delivered}/${run.sent}); stages ${stages.map((s) => `${s.stage} ${ms(s.meanMs)}`).join(', ')}`,
            );
            figures.push(figure(path, rate, U, seconds, { floor, paced }, run, stages));
          }
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
  rate: number,
  U: number,
  seconds: number,
  floors: { floor: FloorSummary; paced: FloorSummary },
  run: Run,
  stages: { stage: string; meanMs: number }[],
): Figure {
  const { floor, paced } = floors;
  const p50 = run.latency?.p50 ?? NaN;
  const p99 = run.latency?.p99 ?? NaN;
  const ratio = p50 / floor.p50;
  const met = run.reached && ratio <= TARGET_RATIO && p50 <= TARGET_P50_MS && p99 <= TARGET_P99_MS;
  return {
    id: `w6-${path}-${rate}`,
    workload: 'W6 light-load latency',
    metric: `p50 producer send → client receive at ${rate.toLocaleString('en-US')}/s via ${path.toUpperCase()}, ${U.toLocaleString('en-US')} acking clients`,
    unit: 'ms',
    better: 'lower',
    system: p50,
    baselineName: 'raw floor (commit → AMQP hop → uWS send)',
    baseline: floor.p50,
    ratio,
    target: { text: `≤ ${TARGET_RATIO}× (p50 ≤ ${TARGET_P50_MS} ms, p99 ≤ ${TARGET_P99_MS} ms)`, met },
    notes: [
      `${path === 'http' ? '`POST /v1/notifications`, one notification per request, keep-alive (bench/lib/http-client)' : 'amqplib publishes to `notify.ingest` (persistent, `message-id`, confirms)'}; open loop at ${rate}/s for ${seconds} s (evenly spaced, one every ${1000 / rate} ms), round robin over ${U.toLocaleString('en-US')} users, each with one client that acks every notification; measured after a warm-up round of one notification per user (not measured).`,
      `notify: p50 ${ms(p50)}, p99 ${ms(p99)}, p99.9 ${ms(run.latency?.p999)}, max ${ms(run.latency?.max)}; ${run.delivered}/${run.sent} delivered. Targets p50 ≤ ${TARGET_P50_MS} ms and p99 ≤ ${TARGET_P99_MS} ms: ${p50 <= TARGET_P50_MS ? 'p50 met' : 'p50 **not met**'}, ${p99 <= TARGET_P99_MS ? 'p99 met' : 'p99 **not met**'}.`,
      `Mean time per stage (services' /metrics over this run): ${stages.map((s) => `${s.stage} ${ms(s.meanMs)}`).join(', ') || 'none recorded'}. Producer → ingest (HTTP parsing or the AMQP hop into ingest) and gateway → client are outside these stages.`,
      `Floor, chained in one process with nothing of ours between the hops, ${floor.count} in a row: p50 ${ms(floor.p50)}, p99 ${ms(floor.p99)} (medians: PostgreSQL insert + commit ${ms(floor.hops.commit)}, AMQP hop ${ms(floor.hops.amqp)}, uWS send → ws client ${ms(floor.hops.ws)}). The ratio and target use this one.`,
      `The same floor paced at 100/s (${PACED_FLOOR_PAUSE_MS} ms between iterations, so that every process goes idle in between, as at a light load), ${paced.count} in a row: p50 ${ms(paced.p50)}, p99 ${ms(paced.p99)} (commit ${ms(paced.hops.commit)}, AMQP hop ${ms(paced.hops.amqp)}, ws ${ms(paced.hops.ws)}); notify's p50 is ${(p50 / paced.p50).toFixed(2)}× it.`,
      'Send and receive times come from two processes on the same clock (performance.timeOrigin + now); producer, clients, broker, PostgreSQL, ingest and gateway share the same 2 cores.',
    ],
    raw: { path, rate, U, seconds, floor, paced, run, stages },
  };
}
