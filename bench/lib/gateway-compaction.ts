import { sleep } from './proc';

/** How long after its last connection a server without that compaction is sampled: as late as a gateway. */
export const SETTLE_MS = 6_000;

/**
 * A gateway runs one compacting GC after starting up and one after each burst of connections, once no
 * socket has opened for 2 s (services/gateway/src/runtime/burst-compaction.ts). Memory per idle
 * connection is read after them, as an operator would see it a few seconds later; these read their
 * count from the node's /metrics.
 */
async function compactions(port: number, reason: 'startup' | 'burst'): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const count = new RegExp(`^notify_gateway_heap_compactions_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(
    text,
  );
  return count ? Number(count[1]) : 0;
}

/** Resolves once the node's count passes `before`; fails after `timeoutMs`. Returns the ms waited. */
async function untilCompacted(
  port: number,
  reason: 'startup' | 'burst',
  before: number,
  timeoutMs = 30_000,
): Promise<number> {
  const started = performance.now();
  while ((await compactions(port, reason)) <= before) {
    if (performance.now() - started > timeoutMs)
      throw new Error(`gateway on ${port}: no ${reason} compaction within ${timeoutMs} ms`);
    await sleep(250);
  }
  return performance.now() - started;
}

/** The zero point: once every gateway has compacted after starting up (nothing to wait for without one). */
export async function afterStartup(gateways: readonly number[]): Promise<void> {
  await Promise.all(gateways.map((port) => untilCompacted(port, 'startup', 0)));
}

/** Each gateway's burst compactions so far: taken before a burst, for `afterBurst`. */
export function burstsSoFar(gateways: readonly number[]): Promise<number[]> {
  return Promise.all(gateways.map((port) => compactions(port, 'burst')));
}

/**
 * Waits until memory can be sampled after a burst of connections: 3 s after every gateway's
 * compaction, or SETTLE_MS after the burst when the servers are not gateways. Returns the longest
 * wait for a compaction, in ms (0 without gateways).
 */
export async function afterBurst(gateways: readonly number[], before: readonly number[]): Promise<number> {
  if (gateways.length === 0) {
    await sleep(SETTLE_MS);
    return 0;
  }
  const waited = await Promise.all(gateways.map((port, i) => untilCompacted(port, 'burst', before[i])));
  await sleep(3000);
  return Math.max(...waited);
}
