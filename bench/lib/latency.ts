import type { LatencySummary } from './clients';

/** Percentiles of producer send → client receive samples (ms), as every client process reports them. */
export function summarize(samples: number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    count: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted[sorted.length - 1],
  };
}

/**
 * The producer's send time carried in a frame as `"t":<epoch ms>` (the notification's `data.t`), read
 * without parsing the frame; NaN when absent.
 */
export function sendTimeIn(payload: string): number {
  const at = payload.indexOf('"t":');
  if (at < 0) return NaN;
  let end = at + 4;
  while (end < payload.length && '0123456789.eE+-'.includes(payload[end])) end++;
  return Number(payload.slice(at + 4, end));
}
