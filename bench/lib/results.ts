import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

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
  notes: string[];
  raw?: Record<string, unknown>;
}

export interface BenchReport {
  command: string;
  date: string;
  mode: 'quick' | 'full';
  machine: string;
  node: string;
  figures: Figure[];
  notMeasured: string[];
  limits: string[];
  durationSeconds: number;
}

const fmt = (n: number): string =>
  !Number.isFinite(n)
    ? 'n/a'
    : Math.abs(n) >= 100
      ? Math.round(n).toLocaleString('en-US')
      : n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/** A ratio that could not be computed (e.g. the other side of the comparison failed) reads "n/a". */
const ratioText = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a');
const value = (n: number, unit: string): string => (Number.isFinite(n) ? `${fmt(n)} ${unit}` : 'n/a');
const targetText = (f: Figure, met: string, notMet: string): string =>
  !f.target
    ? ''
    : `${f.target.text}: ${!Number.isFinite(f.ratio) ? 'not compared' : f.target.met ? met : notMet}`;

export function formatFigure(f: Figure): string {
  const target = f.target ? ` (target ${targetText(f, 'met', 'NOT met')})` : '';
  return `${f.workload} ${f.metric}: ${value(f.system, f.unit)} vs ${f.baselineName} ${value(f.baseline, f.unit)} → ${ratioText(f.ratio)}${target}`;
}

export function markdownTable(figures: Figure[]): string {
  const rows = [
    '| workload | metric | notify | baseline (same run) | ratio | target |',
    '|---|---|---:|---:|---:|---|',
    ...figures.map(
      (f) =>
        `| ${f.workload} | ${f.metric} | ${value(f.system, f.unit)} | ${f.baselineName}: ${value(f.baseline, f.unit)} | ${ratioText(f.ratio)} | ${
          f.target ? targetText(f, 'met', '**not met**').replace(': ', ' — ') : '—'
        } |`,
    ),
  ];
  return rows.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const label = (s: string, max = 64): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** Horizontal bars of ratio (notify / baseline), a line at 1.0, and each target as a tick. */
export function ratioChartSvg(figures: Figure[], title: string): string {
  const rowH = 34;
  const left = 400;
  const width = 890;
  const plotW = width - left - 80;
  const top = 40;
  const height = top + figures.length * rowH + 40;
  const targetOf = (f: Figure): number => Number(f.target?.text.match(/([\d.]+)×/)?.[1] ?? NaN);
  const finite = (n: number): number => (Number.isFinite(n) ? n : 0);
  // The scale holds every ratio and every target tick (a '≥ 5×' tick must not sit at the edge).
  const maxRatio = Math.max(1.6, ...figures.flatMap((f) => [finite(f.ratio), finite(targetOf(f))])) * 1.1;
  const x = (r: number): number => left + (Math.min(r, maxRatio) / maxRatio) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  figures.forEach((f, i) => {
    const y = top + i * rowH;
    const ok = f.target ? f.target.met : true;
    parts.push(
      `<text x="${left - 8}" y="${y + 20}" text-anchor="end">${esc(label(`${f.workload}: ${f.metric}`))}</text>`,
    );
    if (Number.isFinite(f.ratio)) {
      parts.push(
        `<rect x="${left}" y="${y + 6}" width="${Math.max(1, x(f.ratio) - left).toFixed(1)}" height="${rowH - 12}" fill="${ok ? '#4a7fc1' : '#d9534f'}"/>`,
        `<text x="${(x(f.ratio) + 6).toFixed(1)}" y="${y + 20}">${ratioText(f.ratio)}</text>`,
      );
    } else {
      parts.push(`<text x="${left + 6}" y="${y + 20}" fill="#888">n/a: no comparison in this run</text>`);
    }
    const target = targetOf(f);
    if (Number.isFinite(target)) {
      const tx = x(target);
      parts.push(
        `<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${y + 2}" y2="${y + rowH - 2}" stroke="#222" stroke-width="2" stroke-dasharray="3,2"/>`,
      );
    }
  });
  const one = x(1).toFixed(1);
  parts.push(
    `<line x1="${one}" x2="${one}" y1="${top - 4}" y2="${top + figures.length * rowH + 4}" stroke="#888"/>`,
    `<text x="${one}" y="${height - 18}" text-anchor="middle">1.0× = baseline</text>`,
    `<text x="${left}" y="${height - 4}" fill="#555">bar: notify ÷ baseline from the same run; dashed tick: target; red: target not met</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}

/** Formats with the repository's prettier config (so `npm run lint` stays green), if prettier loads. */
async function pretty(file: string, text: string): Promise<string> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const prettier = require('prettier') as typeof import('prettier');
    const config = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(text, { ...config, filepath: file });
  } catch {
    return text;
  }
}

export async function writeReport(
  report: BenchReport,
  paths: { json: string; markdown: string; svg: string; svgRelative: string },
): Promise<void> {
  for (const p of [paths.json, paths.markdown, paths.svg]) mkdirSync(dirname(p), { recursive: true });
  writeFileSync(paths.json, await pretty(paths.json, JSON.stringify(report, null, 2) + '\n'));
  writeFileSync(
    paths.svg,
    ratioChartSvg(report.figures, `notify vs baselines (${report.mode} run, ${report.date.slice(0, 10)})`),
  );
  const md = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench`; do not edit by hand (rerun it). Raw figures: [benchmarks.json](benchmarks.json). What limits each figure, the profiles and what was changed: [performance.md](performance.md).',
    '',
    `- Command: \`${report.command}\``,
    `- Date: ${report.date} (run took ${Math.round(report.durationSeconds)} s)`,
    `- Machine: ${report.machine}`,
    `- Node: ${report.node}`,
    '- Every figure is compared with a baseline measured **in the same run**; ratio = notify ÷ baseline.',
    '  For throughput higher is better; for memory lower is better.',
    '- **The load generator shares the 2 cores** with the system under test, the broker and the database:',
    '  every figure below is a same-machine figure, not the capacity of a dedicated server.',
    '',
    '## Results',
    '',
    markdownTable(report.figures),
    '',
    `![ratio chart](${paths.svgRelative})`,
    '',
    '## Notes per figure',
    '',
    ...report.figures.flatMap((f) => [
      `- **${f.workload} — ${f.metric}**`,
      ...f.notes.map((n) => `  - ${n}`),
    ]),
    '',
    '## Machine limits',
    '',
    ...report.limits.map((l) => `- ${l}`),
    '',
    '## Not measured yet',
    '',
    ...report.notMeasured.map((l) => `- ${l}`),
    '',
  ];
  writeFileSync(paths.markdown, await pretty(paths.markdown, md.join('\n')));
}
