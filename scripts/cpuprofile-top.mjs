// `node scripts/cpuprofile-top.mjs FILE.cpuprofile [N]`: where a V8 CPU profile spent its time: the
// top functions by self time, and self time per package (node_modules/<name>, node: internals, project).
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node scripts/cpuprofile-top.mjs FILE.cpuprofile [N]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fnTime = new Map();
const pkgTime = new Map();
const packageOf = (url) => {
  if (!url) return '(native/vm)';
  if (url.startsWith('node:')) return 'node:internals';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  const d = url.match(/dist\/((?:services|libs)\/[^/]+)/);
  return d ? d[1] : url;
};
for (const [id, t] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const name = `${cf.functionName || '(anonymous)'} ${cf.url ? cf.url.replace(/^.*?(node_modules|dist)\//, '$1/') + ':' + (cf.lineNumber + 1) : ''}`;
  fnTime.set(name, (fnTime.get(name) ?? 0) + t);
  const pkg = cf.url ? packageOf(cf.url) : cf.functionName.startsWith('(') ? cf.functionName : '(native/vm)';
  pkgTime.set(pkg, (pkgTime.get(pkg) ?? 0) + t);
}
const pct = (t) => ((100 * t) / total).toFixed(1).padStart(5) + '%';
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n\nby package:\n`);
for (const [k, t] of [...pkgTime].sort((a, b) => b[1] - a[1]).slice(0, 15))
  process.stdout.write(`${pct(t)}  ${k}\n`);
process.stdout.write(`\ntop ${top} functions by self time:\n`);
for (const [k, t] of [...fnTime].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`${pct(t)}  ${k}\n`);
