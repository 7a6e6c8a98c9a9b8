import { startCluster, signToken, type TestCluster } from '@notify/testing';
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
