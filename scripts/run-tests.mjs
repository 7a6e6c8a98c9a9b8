#!/usr/bin/env node
// The test command: builds, lints, then runs every compiled spec (units beside the code) and every
// test under test/ (static checks of the repository's files; integration and end-to-end, against the
// real RabbitMQ and PostgreSQL).
// Usage: node scripts/run-tests.mjs [--no-lint] [--only <substring>]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureDependencies } from './ensure-deps.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

function run(cmd, cmdArgs) {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function find(dir, suffixes, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) find(path, suffixes, out);
    else if (suffixes.some((s) => name.endsWith(s))) out.push(relative(root, path));
  }
  return out;
}

ensureDependencies(root);
// Starts RabbitMQ and PostgreSQL when installed but stopped; says how to install what is missing.
run('bash', ['scripts/ensure-services.sh']);
run('bash', ['scripts/build.sh']);
if (!args.includes('--no-lint')) run('npm', ['run', '--silent', 'lint']);

const files = ['services', 'libs', 'bench', 'test']
  .flatMap((d) => find(join(root, 'dist', d), ['.spec.js', '.test.js']))
  .filter((f) => !only || f.includes(only))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Serial files load the whole machine on purpose (TCP memory pressure, broker restarts): they run
// alone, after the rest.
const serial = files.filter((f) => f.endsWith('.serial.test.js') || f.includes('/chaos/'));
const parallel = files.filter((f) => !serial.includes(f));
// A file whose tests are done exits even if something it started still holds the event loop (a
// before hook that failed halfway leaves its cluster to nobody), and a file still running after 5
// minutes fails (Node 20 times each file as a whole; the slowest takes under a minute): a failure,
// not a hang until CI's timeout. The services it started stop with it (scripts/exit-with-parent.cjs).
const node = ['--test', '--test-force-exit', '--test-timeout=300000', '--test-reporter=spec'];
if (parallel.length) run(process.execPath, [...node, '--test-concurrency=2', ...parallel]);
if (serial.length) run(process.execPath, [...node, '--test-concurrency=1', ...serial]);
