import { startCluster, signToken, TEST_API_KEY, type TestCluster } from '@notify/testing';
import { ClientWorker } from '../lib/clients';
import {
  amqpProducer,
  HTTP_IN_FLIGHT,
  httpProducer,
  maxRun,
  type FrameCounter,
  type Path,
  type Producer,
} from '../lib/producers';
import type { Figure } from '../lib/results';

export interface RunContext {
  quick: boolean;
  /** Every process/worker started registers its stop here, so an abort still stops them. */
  cleanups: Set<() => Promise<void>>;
  log(line: string): void;
  /** Figures measured so far in this run (filled by run.ts), so a later workload can compare with them. */
  figures: Figure[];
}

export async function track<T extends { stop(): Promise<void> }>(ctx: RunContext, thing: T): Promise<T> {
  const stop = (): Promise<void> => thing.stop().catch(() => undefined);
  ctx.cleanups.add(stop);
  const original = thing.stop.bind(thing);
  thing.stop = async () => {
    ctx.cleanups.delete(stop);
    await original();
  };
  return thing;
}

/**
 * Node flags for every service process. With `--cpu-prof`, each writes a V8 CPU profile when it exits
 * (open it in Chrome DevTools or speedscope for a flame graph); `BENCH_SERVICE_NODE_ARGS` adds flags to
 * try (a GC setting, say) without changing the services.
 */
function profiling(): Record<string, string> {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  const flags = [dir ? `--cpu-prof --cpu-prof-dir=${dir}` : '', process.env.BENCH_SERVICE_NODE_ARGS ?? '']
    .join(' ')
    .trim();
  return flags ? { SERVICE_NODE_ARGS: flags } : {};
}

/** A private cluster (ingest + one gateway) with quiet logs and idle limits that outlast the run. */
export async function benchCluster(
  ctx: RunContext,
  gateways = 1,
  env: Record<string, string> = {},
): Promise<TestCluster> {
  const cluster = await startCluster({
    gateways,
    env: { NOTIFY_LOG_LEVEL: 'warn', NOTIFY_IDLE_TIMEOUT_SECONDS: '120', ...profiling(), ...env },
  });
  return track(ctx, cluster);
}

export async function tokens(prefix: string, count: number, channels?: string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++)
    out.push(await signToken(`${prefix}-${i}`, { expiresInSeconds: 3600, channels }));
  return out;
}

export const gatewayPort = (cluster: TestCluster, index = 0): number =>
  Number(new URL(cluster.wsUrl(index, '')).port);

export { now } from '../lib/proc';

/**
 * One client per user (`prefix-0` … `prefix-{count-1}`) on gateway 0, each acking every notification
 * and timing its arrival: the clients of W1 and W6.
 */
export async function openAckingClients(
  ctx: RunContext,
  cluster: TestCluster,
  prefix: string,
  count: number,
  timeoutMs: number,
): Promise<ClientWorker> {
  const toks = await tokens(prefix, count);
  const w = await track(ctx, new ClientWorker(`${prefix}-clients`));
  const opened = await w.open({
    port: gatewayPort(cluster),
    paths: toks.map((t) => `/v1/ws?token=${t}&device=bench`),
    sourceFirst: 2,
    sourceSpread: 8,
    concurrency: 100,
    timeoutMs,
    ack: true,
    latency: true,
  });
  ctx.log(`  ${opened.open} connected in ${Math.round(opened.ms)} ms`);
  return w;
}

/** Targeted notifications for users `prefix-…` into the cluster's ingest, over AMQP or HTTP. */
export async function producerFor(cluster: TestCluster, path: Path, prefix: string): Promise<Producer> {
  return path === 'amqp'
    ? amqpProducer(cluster.vhost.url, prefix)
    : httpProducer(cluster.ingestUrl, TEST_API_KEY, HTTP_IN_FLIGHT, prefix);
}

/**
 * One notification per user through `producer`, not measured, before a path's measured runs: the JIT,
 * the heap and the pools (PostgreSQL connections open lazily) are then as a running service has them,
 * as the W5 peers are measured after theirs.
 */
export async function warmUp(
  w: FrameCounter,
  producer: Producer,
  U: number,
  timeoutMs: number,
): Promise<void> {
  const warm = await maxRun(w, producer, U, U, timeoutMs);
  if (!warm.reached) throw new Error(`warm-up: ${warm.delivered} of ${U} delivered`);
  // The burst's aftermath (cursor and receipt flushes, the store's background writes) settles first.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}
