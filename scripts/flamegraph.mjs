// `node scripts/flamegraph.mjs IN.cpuprofile OUT.svg [title]`: a flame graph (SVG, no dependencies; drawn
// top-down as an icicle) of a
// V8 CPU profile such as `npm run bench -- --cpu-prof` writes. Width = share of samples; idle, GC and
// program time are kept as their own frames so the picture adds up to the whole run.
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output, title = input] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node scripts/flamegraph.mjs IN.cpuprofile OUT.svg [title]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(input, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const label = (cf) => {
  const file = cf.url ? cf.url.replace(/^.*?(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '') : '';
  return `${cf.functionName || '(anonymous)'}${file ? ` ${file}:${cf.lineNumber + 1}` : ''}`;
};
// Total time per node = self + children.
const total = new Map();
const sum = (node) => {
  let t = self.get(node.id) ?? 0;
  for (const c of node.children ?? []) t += sum(byId.get(c));
  total.set(node.id, t);
  return t;
};
const root = profile.nodes[0];
const all = sum(root);

const W = 1200;
const ROW = 16;
const rects = [];
let depthMax = 0;
const layout = (node, x, depth) => {
  const t = total.get(node.id) ?? 0;
  const w = (t / all) * W;
  if (w < 0.3) return;
  depthMax = Math.max(depthMax, depth);
  rects.push({ x, depth, w, name: label(node.callFrame), pct: (100 * t) / all });
  let cx = x;
  for (const c of node.children ?? []) {
    const child = byId.get(c);
    layout(child, cx, depth + 1);
    cx += ((total.get(child.id) ?? 0) / all) * W;
  }
};
layout(root, 0, 0);

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const color = (name) => {
  if (name.startsWith('(idle)')) return '#d0d0d0';
  if (name.startsWith('(garbage collector)')) return '#c9a0dc';
  if (name.includes('node_modules/')) return '#f2a65a';
  if (name.includes('dist/')) return '#7fb77e';
  return '#f5d76e';
};
const height = (depthMax + 2) * ROW + 30;
const parts = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="monospace" font-size="10">`,
  `<rect width="100%" height="100%" fill="#fff"/>`,
  `<text x="4" y="14" font-size="12" font-family="sans-serif">${esc(title)}: ${(all / 1e6).toFixed(1)} s sampled; green = notify, orange = dependencies, yellow = Node/V8, grey = idle</text>`,
];
for (const r of rects) {
  // Root at the top, callees below (an icicle): the wide frames that matter come first, and Nest's
  // deep stacks trail off at the bottom.
  const y = 22 + r.depth * ROW;
  const chars = Math.floor((r.w - 4) / 6);
  const text = chars > 3 ? esc(r.name.length > chars ? `${r.name.slice(0, chars - 1)}…` : r.name) : '';
  parts.push(
    `<g><title>${esc(r.name)} (${r.pct.toFixed(1)}%)</title><rect x="${r.x.toFixed(1)}" y="${y}" width="${r.w.toFixed(1)}" height="${ROW - 1}" fill="${color(r.name)}"/>${
      text ? `<text x="${(r.x + 2).toFixed(1)}" y="${y + 11}">${text}</text>` : ''
    }</g>`,
  );
}
parts.push('</svg>');
writeFileSync(output, parts.join('\n'));
process.stdout.write(`wrote ${output} (${rects.length} frames)\n`);
