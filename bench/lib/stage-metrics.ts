/** Sums and counts of the services' per-stage histograms, read from their /metrics. */
export type StageTotals = Map<string, { sum: number; count: number }>;

const STAGE_SERIES =
  /^(notify_(?:ingest|gateway)_stage_seconds|notify_gateway_end_to_end_seconds)_(sum|count)(?:\{([^}]*)\})? (\S+)$/;

/** Keyed `ingest commit`, `gateway broker`, `gateway end_to_end` …, notifications only. */
export async function scrapeStages(urls: readonly string[]): Promise<StageTotals> {
  const totals: StageTotals = new Map();
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const m = STAGE_SERIES.exec(line);
      if (!m) continue;
      const labels = m[3] ?? '';
      if (labels.includes('kind=') && !labels.includes('kind="notification"')) continue;
      const stage = /stage="([^"]+)"/.exec(labels)?.[1] ?? 'end_to_end';
      const key = `${m[1].includes('ingest') ? 'ingest' : 'gateway'} ${stage}`;
      const entry = totals.get(key) ?? { sum: 0, count: 0 };
      entry[m[2] as 'sum' | 'count'] += Number(m[4]);
      totals.set(key, entry);
    }
  }
  return totals;
}

/** Mean ms per stage between two scrapes, in pipeline order. */
export function stageMeans(before: StageTotals, after: StageTotals): { stage: string; meanMs: number }[] {
  const order = ['ingest commit', 'ingest confirm', 'gateway broker', 'gateway write', 'gateway end_to_end'];
  return order
    .map((stage) => {
      const a = after.get(stage);
      const b = before.get(stage) ?? { sum: 0, count: 0 };
      const count = (a?.count ?? 0) - b.count;
      return { stage, meanMs: count > 0 ? (((a?.sum ?? 0) - b.sum) / count) * 1000 : NaN };
    })
    .filter((s) => Number.isFinite(s.meanMs));
}
