import { betterOf, type Figure } from './figure';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const label = (s: string, max = 64): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const ratioText = (r: number): string => `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
const GRID = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];

export const targetOf = (f: Figure): number => Number(f.target?.text.match(/([\d.]+)×/)?.[1] ?? NaN);

/**
 * One row per figure on a logarithmic ratio axis, bars drawn from 1.0× (the baseline) to the ratio,
 * so that 0.16× and 20× are both readable and equally far from 1 reads as equally far from the
 * baseline. Each row says which way is better, and its target is a dashed tick with its text.
 */
export function ratioChartSvg(figures: Figure[], title: string): string {
  const rowH = 40;
  const left = 420;
  const width = 960;
  const plotW = width - left - 60;
  const top = 56;
  const height = top + figures.length * rowH + 48;
  const values = figures.flatMap((f) => [f.ratio, targetOf(f)]).filter((n) => Number.isFinite(n) && n > 0);
  // Room on both sides for the ratio written beyond the end of its bar.
  const lo = Math.min(0.1, ...values) / 2.5;
  const hi = Math.max(2, ...values) * 2.5;
  const x = (r: number): number =>
    left + ((Math.log(Math.min(Math.max(r, lo), hi)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const g of GRID.filter((g) => g >= lo && g <= hi)) {
    const gx = x(g).toFixed(1);
    parts.push(
      `<line x1="${gx}" x2="${gx}" y1="${top - 6}" y2="${top + figures.length * rowH}" stroke="${g === 1 ? '#666' : '#e3e3e3'}"/>`,
      `<text x="${gx}" y="${top - 10}" text-anchor="middle" fill="#555">${g}×</text>`,
    );
  }
  figures.forEach((f, i) => {
    const y = top + i * rowH;
    const ok = f.target ? f.target.met : true;
    parts.push(
      `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${esc(label(`${f.workload}: ${f.metric}`))}</text>`,
      `<text x="${left - 8}" y="${y + 31}" text-anchor="end" fill="#666" font-size="11">${betterOf(f)} is better${f.target ? `; target ${esc(f.target.text)}` : ''}</text>`,
    );
    if (Number.isFinite(f.ratio) && f.ratio > 0) {
      const [a, b] = [x(1), x(f.ratio)].sort((p, q) => p - q);
      const beyond = f.ratio >= 1;
      parts.push(
        `<rect x="${a.toFixed(1)}" y="${y + 8}" width="${Math.max(1, b - a).toFixed(1)}" height="${rowH - 16}" fill="${ok ? '#4a7fc1' : '#d9534f'}"/>`,
        `<text x="${(beyond ? b + 6 : a - 6).toFixed(1)}" y="${y + 25}" text-anchor="${beyond ? 'start' : 'end'}">${ratioText(f.ratio)}</text>`,
      );
    } else {
      parts.push(`<text x="${left + 6}" y="${y + 25}" fill="#888">n/a: no comparison in this run</text>`);
    }
    const target = targetOf(f);
    if (Number.isFinite(target) && target > 0) {
      const tx = x(target).toFixed(1);
      parts.push(
        `<line x1="${tx}" x2="${tx}" y1="${y + 3}" y2="${y + rowH - 3}" stroke="#222" stroke-width="2" stroke-dasharray="3,2"/>`,
      );
    }
  });
  parts.push(
    `<text x="${left}" y="${height - 22}" fill="#555">log scale; bar: notify ÷ baseline from the same run, drawn from 1.0× (the baseline)</text>`,
    `<text x="${left}" y="${height - 6}" fill="#555">dashed tick: target; red bar: target not met</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}
