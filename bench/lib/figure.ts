/** One measured figure of a benchmark run, with its same-run baseline. */
export interface Figure {
  /** Stable id to find a figure of the same run from another workload, e.g. 'w2-http', 'w3-10000'. */
  id?: string;
  workload: string;
  /** What is measured, e.g. "deliveries/s at the clients, N=10,000". */
  metric: string;
  unit: string;
  system: number;
  baselineName: string;
  baseline: number;
  /** system / baseline. */
  ratio: number;
  /** Human-readable target on the ratio, if the issue sets one, and whether it was met. */
  target?: { text: string; met: boolean };
  /** Which way is better; when unset, read from the target ('≤'/'<': lower) or the unit (time, bytes). */
  better?: 'higher' | 'lower';
  notes: string[];
  raw?: Record<string, unknown>;
}

/** Whether a higher or a lower figure (and ratio) is better. */
export function betterOf(f: Figure): 'higher' | 'lower' {
  if (f.better) return f.better;
  const sign = f.target?.text.trim()[0];
  if (sign === '≤' || sign === '<') return 'lower';
  if (sign === '≥' || sign === '>') return 'higher';
  return /^(ms|s|B\/conn|B|KB|MB)$/.test(f.unit) ? 'lower' : 'higher';
}
