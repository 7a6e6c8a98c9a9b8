#!/usr/bin/env node
// `npm run chaos`: the big, bounded chaos run of issue 3 (the small one runs inside `npm test`).
// 3 gateways behind HAProxy, 120 users × 4 devices, 20,000 notifications over HTTP and AMQP; during the
// run it SIGKILLs a gateway twice, restarts RabbitMQ once (the shared local broker: run it alone) and
// SIGKILLs ingest once, and cuts ~10 % of the client connections. Prints the report, exits 1 when an
// invariant fails (lost, out-of-order, gaps, duplicates, cursors, store), 2 when it overran its bound.
//
// Usage: node scripts/chaos.mjs [--no-build] [--small] [--users N] [--devices N] [--notifications N]
//          [--rate N] [--duration-ms N] [--seed N] [--fault drop-frame|duplicate-frame] [--json FILE]
//          [--postgres-restart]   (also restarts the local PostgreSQL: every database on it is disrupted)
//          [--logs DIR]   (keeps every service's debug output, HAProxy's traffic log and report.json)
// Needs PostgreSQL and RabbitMQ (scripts/ensure-services.sh), haproxy (apt-get install -y haproxy), and
// the right to run `rabbitmqctl stop_app/start_app` (root on a Debian install).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (v === undefined) {
    console.error(`${name} needs a value`);
    process.exit(64);
  }
  return v;
};
const int = (name, fallback) => {
  const v = Number(value(name, String(fallback)));
  if (!Number.isSafeInteger(v) || v < 0) {
    console.error(`${name} must be a non-negative integer`);
    process.exit(64);
  }
  return v;
};

function run(cmd, cmdArgs) {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const small = flag('--small');
const options = {
  users: int('--users', small ? 40 : 120),
  devicesPerUser: int('--devices', small ? 3 : 4),
  notifications: int('--notifications', small ? 1500 : 20_000),
  ratePerSecond: int('--rate', small ? 120 : 160),
  durationMs: int('--duration-ms', small ? 110_000 : 270_000),
  seed: int('--seed', Math.floor(Math.random() * 2 ** 31)),
  fault: value('--fault', 'none'),
  postgresRestart: flag('--postgres-restart'),
  logsDir: value('--logs', undefined),
  log: (line) => process.stderr.write(`${line}\n`),
};
if (!['none', 'drop-frame', 'duplicate-frame'].includes(options.fault)) {
  console.error('--fault must be drop-frame or duplicate-frame');
  process.exit(64);
}

run('bash', ['scripts/ensure-services.sh', '--check']);
if (!flag('--no-build')) run('bash', ['scripts/build.sh']);

const { runChaos, chaosFailures, formatReport } = createRequire(import.meta.url)(
  `${root}dist/test/chaos/chaos-run.js`,
);

// Last resort: the run bounds every phase itself; clean-up gets a minute on top.
const watchdog = setTimeout(() => {
  console.error(`chaos run still going after ${options.durationMs + 60_000} ms: giving up`);
  process.exit(2);
}, options.durationMs + 60_000);
watchdog.unref();

const given = args.filter((a) => a !== '--no-build').join(' ');
const command = `node scripts/chaos.mjs ${given}${args.includes('--seed') ? '' : ` --seed ${options.seed}`}`;
const report = await runChaos(options);
clearTimeout(watchdog);
const failures = chaosFailures(report);
console.log(`\n$ ${command.replace(/ +/g, ' ')}\n${formatReport(report)}`);
if (flag('--json')) writeFileSync(value('--json'), JSON.stringify(report, null, 2));
if (failures.length > 0) {
  console.log(`\nFAILED (${failures.length}):\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exit(1);
}
console.log('\nOK: nothing lost, out of order or duplicated; every device cursor is at its user’s last seq');
