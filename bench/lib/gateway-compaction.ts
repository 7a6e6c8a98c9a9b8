import { sleep } from './proc';

/** How long after its last connection a server without that compaction is sampled: as late as a gateway. */
export const SETTLE_MS = 6_000;

/**
 * After a burst of connections a gateway runs one compacting GC once no socket has opened for 2 s
 * (services/gateway/src/runtime/burst-compaction.ts). Memory per idle connection is read after it, as
 * an operator would see it a few seconds later; these read its counter from the node's /metrics.
 */
export async function compactions(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const count = /^notify_gateway_burst_compactions_total (\d+)/m.exec(text);
  if (!count) throw new Error(`gateway on ${port}: no notify_gateway_burst_compactions_total in /metrics`);
  return Number(count[1]);
}

/** Resolves once the node's count passes `before`; fails after `timeoutMs`. Returns the ms waited. */
export async function untilCompacted(port: number, before: number, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  while ((await compactions(port)) <= before) {
    if (performance.now() - started > timeoutMs)
      throw new Error(`gateway on ${port}: no compaction within ${timeoutMs} ms after the burst`);
    await sleep(250);
  }
  return performance.now() - started;
}
