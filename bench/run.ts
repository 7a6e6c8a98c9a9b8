/**
 * `npm run bench [-- --quick] [-- --only w2,w3]`: starts what it needs, measures each workload against
 * a baseline in the same run, prints every figure with its ratio, and writes the report: a full run to
 * docs/benchmarks.md, docs/benchmarks.json and docs/images/benchmarks.svg; a `--quick` or `--only`
 * run to bench/results/<date>-<mode>/ (not committed), so a partial run never replaces the full report.
 * `--render` draws the committed report again from docs/benchmarks.json, measuring nothing.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from './lib/proc';
import { formatFigure, writeReport, type BenchReport, type Figure } from './lib/results';
import type { RunContext } from './workloads/common';
import { workload1 } from './workloads/w1-targeted';
import { workload2 } from './workloads/w2-fanout';
import { workload3 } from './workloads/w3-memory';
import { workload3Cluster } from './workloads/w3-cluster';
import { workload4 } from './workloads/w4-storm';
import { workload5 } from './workloads/w5-socketio';
import { workload6 } from './workloads/w6-latency';
import { workload7 } from './workloads/w7-pusher';
import { workload8 } from './workloads/w8-presence';

const WORKLOADS: Record<string, (ctx: RunContext) => Promise<Figure | Figure[]>> = {
  w1: workload1,
  w2: workload2,
  w3: workload3,
  // W5 compares with the W1–W3 figures of the same run: it runs after them, and selecting it selects them.
  w5: workload5,
  w4: workload4,
  w6: workload6,
  w7: workload7,
  w8: workload8,
  w3c: workload3Cluster,
};
const W5_NEEDS = ['w1', 'w2', 'w3'];

/** Workloads that run only in the full run, and rough durations of the long ones (to stay in budget). */
const FULL_ONLY = ['w3c'];
/** Rough durations on this machine, for the time budget and the progress line. */
const ESTIMATED_MS: Record<string, number> = {
  w1: 90_000,
  w2: 40_000,
  w3: 45_000,
  w3c: 180_000,
  w4: 40_000,
  w5: 90_000,
  w6: 60_000,
  w7: 60_000,
  w8: 150_000,
};
const ESTIMATED_QUICK_MS: Record<string, number> = {
  w1: 20_000,
  w2: 12_000,
  w3: 15_000,
  w4: 15_000,
  w5: 25_000,
  w7: 25_000,
};
const DEFAULT_MS = 60_000;
const DEFAULT_QUICK_MS = 15_000;

const LIMITS = [
  '**Open files: 20,000 per process, and the limit cannot be raised on this machine.** One process (server or client) can hold about 19,000 sockets, so **100,000 connections on one gateway node cannot be measured here**, and 50,000 neither; memory per connection is measured at ≤ 19,000 per node. 50k/100k are measured instead on a cluster of 6 gateway processes fed by as many client processes (≤ 19k sockets each): workload `w3c`, full run only.',
  'Ephemeral ports: 32768–60999 per source address; clients spread their sockets over source addresses 127.0.0.2 and up (`localAddress`).',
  'All traffic is on loopback (127.0.0.x); there is no network cost in any figure.',
];

const NOT_MEASURED = [
  'W3 at 50,000 and 100,000 connections on ONE gateway node: not possible on this machine (20,000 open files per process, see Machine limits). The W3 rows "over 6 nodes" (full run only) spread them over 6 gateway processes instead, which is a different measurement.',
];

const DOC_PATHS = {
  json: join(ROOT, 'docs', 'benchmarks.json'),
  markdown: join(ROOT, 'docs', 'benchmarks.md'),
  svg: join(ROOT, 'docs', 'images', 'benchmarks.svg'),
  svgRelative: 'images/benchmarks.svg',
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--render')) {
    // The committed report drawn again from its own figures (after a change to the report's layout).
    const report = JSON.parse(readFileSync(DOC_PATHS.json, 'utf8')) as BenchReport;
    await writeReport(report, DOC_PATHS);
    process.stdout.write(
      'rendered docs/benchmarks.md and docs/images/benchmarks.svg from docs/benchmarks.json\n',
    );
    return;
  }
  const quick = args.includes('--quick');
  const onlyArg = args.find((a) => a.startsWith('--only'));
  const onlyValue = onlyArg?.includes('=')
    ? onlyArg.split('=')[1]
    : onlyArg
      ? args[args.indexOf(onlyArg) + 1]
      : undefined;
  const selected = onlyValue
    ? onlyValue.split(',').map((s) => s.trim().toLowerCase())
    : Object.keys(WORKLOADS).filter((w) => !(quick && FULL_ONLY.includes(w)));
  for (const s of selected)
    if (!WORKLOADS[s])
      throw new Error(`unknown workload '${s}' (known: ${Object.keys(WORKLOADS).join(', ')})`);
  const addedForW5 = selected.includes('w5') ? W5_NEEDS.filter((w) => !selected.includes(w)) : [];
  if (selected.includes('w5')) {
    // W1–W3 first, then W5, then the rest in their usual order.
    const rest = selected.filter((w) => w !== 'w5' && !W5_NEEDS.includes(w));
    selected.splice(0, selected.length, ...W5_NEEDS, 'w5', ...rest);
  }

  if (args.includes('--cpu-prof')) {
    process.env.BENCH_CPU_PROF_DIR = join(
      ROOT,
      'bench-profiles',
      new Date().toISOString().replace(/[:.]/g, '-'),
    );
    process.stdout.write(`CPU profiles of the services go to ${process.env.BENCH_CPU_PROF_DIR}\n`);
  }
  const started = Date.now();
  const loadAtStart = loadavg()[0];
  // A full run measures every workload (about 14 minutes here); the budget bounds it if one hangs.
  const budgetMs = quick ? 120_000 : 1_200_000;
  const ctx: RunContext = {
    quick,
    cleanups: new Set(),
    log: (line) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`),
    figures: [],
  };
  if (addedForW5.length)
    ctx.log(
      `w5 compares with the same run's ${W5_NEEDS.join(', ')}: also running ${addedForW5.join(', ')}; order: ${selected.join(', ')}`,
    );
  const cleanup = async (): Promise<void> => {
    for (const fn of [...ctx.cleanups]) await fn();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void cleanup().finally(() => process.exit(130));
    });
  }
  // Hard bound on the whole run: whatever is still running is stopped.
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: over the ${budgetMs / 1000} s budget, stopping\n`);
    void cleanup().finally(() => process.exit(2));
  }, budgetMs + 30_000);
  watchdog.unref();

  const figures = ctx.figures;
  const notMeasured: string[] = [];
  const estimateOf = (name: string): number =>
    (quick ? ESTIMATED_QUICK_MS : ESTIMATED_MS)[name] ?? (quick ? DEFAULT_QUICK_MS : DEFAULT_MS);
  for (const [index, name] of selected.entries()) {
    const remaining = selected.slice(index).reduce((sum, w) => sum + estimateOf(w), 0);
    ctx.log(
      `=== workload ${index + 1} of ${selected.length}: ${name} (elapsed ${Math.round((Date.now() - started) / 1000)} s, about ${Math.round(remaining / 1000)} s to go)`,
    );
    if (Date.now() - started + estimateOf(name) > budgetMs) {
      notMeasured.push(
        `${name.toUpperCase()}: skipped in this run, it would not fit in the ${budgetMs / 1000} s time budget.`,
      );
      continue;
    }
    try {
      const out = await WORKLOADS[name](ctx);
      for (const f of Array.isArray(out) ? out : [out]) {
        figures.push(f);
        process.stdout.write(
          `\n>>> ${formatFigure(f)}\n    (load generator shares the 2 cores with the system under test)\n\n`,
        );
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      ctx.log(`${name} FAILED: ${message}`);
      notMeasured.push(`${name.toUpperCase()} failed in this run: ${message.split('\n')[0].slice(0, 300)}`);
    } finally {
      await cleanup();
    }
  }
  for (const s of Object.keys(WORKLOADS)) {
    if (selected.includes(s)) continue;
    if (quick && FULL_ONLY.includes(s)) {
      notMeasured.push(
        `${s.toUpperCase()} (W3 at 50,000 and 100,000 over several nodes): runs only in the full run.`,
      );
    } else notMeasured.push(`${s.toUpperCase()}: not selected in this run (\`--only\`).`);
  }

  const report: BenchReport = {
    command: `npm run bench${args.length ? ' -- ' + args.join(' ') : ''}`,
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; 2 cores shared by load generator, broker, database and system under test; 1-minute load average ${loadAtStart.toFixed(2)} when the run started (what else was running)`,
    node: process.version,
    figures,
    notMeasured: [...notMeasured, ...NOT_MEASURED],
    limits: LIMITS,
    durationSeconds: (Date.now() - started) / 1000,
  };
  const partial = quick || onlyValue !== undefined;
  const scratch = join(
    ROOT,
    'bench',
    'results',
    `${report.date.replace(/[:.]/g, '-')}-${partial && !quick ? 'only' : report.mode}`,
  );
  const paths = partial
    ? {
        json: join(scratch, 'benchmarks.json'),
        markdown: join(scratch, 'benchmarks.md'),
        svg: join(scratch, 'benchmarks.svg'),
        svgRelative: 'benchmarks.svg',
      }
    : DOC_PATHS;
  await writeReport(report, paths);
  ctx.log(
    partial
      ? `partial run: wrote ${relative(ROOT, scratch)}/ (docs/benchmarks.md keeps the last full run)`
      : 'wrote docs/benchmarks.md, docs/benchmarks.json, docs/images/benchmarks.svg',
  );
  clearTimeout(watchdog);
  process.exit(figures.length ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
