/**
 * The README's start path from a fresh clone: `git clone` of the current HEAD into a temporary folder,
 * `npm start` there (it builds, creates and migrates the database, starts everything), then /healthz
 * answers on ingest, both gateways and HAProxy, and SIGTERM leaves no process behind.
 *
 * To stay fast and to leave the shared dependencies alone, the clone's node_modules is a symlink to
 * this checkout's, and its package-lock.json gets an old mtime so that `npm start` finds the
 * dependencies up to date (scripts/ensure-deps.mjs compares the two) instead of running `npm ci`
 * through the symlink; the test fails if it tries. Serial: it builds the whole tree.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, createTestVhost, freePort, haproxyAvailable } from '@notify/testing';

const ROOT = join(__dirname, '..', '..', '..');
const START_TIMEOUT_MS = 300_000;

const status = (url: string): Promise<number> =>
  fetch(url, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.status,
    () => 0,
  );

/** Processes whose working directory or command line is inside `dir`. */
function processesIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cwd.startsWith(dir) || cmdline.includes(dir)) found.push(`${pid}: ${cmdline.trim()}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

describe('from a fresh clone: npm start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'notify-clone-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds and starts everything, /healthz answers everywhere, SIGTERM leaves no process', async (t) => {
    if (!haproxyAvailable()) return t.skip('haproxy is not installed (npm run setup installs it)');
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString().trim();
    execFileSync('git', ['clone', '--quiet', '--no-checkout', ROOT, dir]);
    execFileSync('git', ['checkout', '--quiet', head], { cwd: dir });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    utimesSync(join(dir, 'package-lock.json'), new Date(0), new Date(0));

    const [vhost, db] = await Promise.all([createTestVhost(), createTestDatabase()]);
    const [ingest, gatewayA, gatewayB, lb, demo] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    const npm = spawn('npm', ['start'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        NOTIFY_AMQP_URL: vhost.url,
        NOTIFY_DATABASE_URL: db.url,
        NOTIFY_START_INGEST_PORT: String(ingest),
        NOTIFY_START_GATEWAY_A_PORT: String(gatewayA),
        NOTIFY_START_GATEWAY_B_PORT: String(gatewayB),
        NOTIFY_START_LB_PORT: String(lb),
        NOTIFY_START_DEMO_PORT: String(demo),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    try {
      const urls = [ingest, gatewayA, gatewayB, lb].map((p) => `http://127.0.0.1:${p}/healthz`);
      const deadline = Date.now() + START_TIMEOUT_MS;
      let answers: number[] = [];
      while (Date.now() < deadline && npm.exitCode === null) {
        answers = await Promise.all(urls.map(status));
        if (answers.every((s) => s === 200)) break;
        await sleep(500);
      }
      assert.deepEqual(answers, [200, 200, 200, 200], `ingest, gateways, HAProxy /healthz:\n${output}`);
      assert.doesNotMatch(output, /running npm ci/, 'the symlinked dependencies were taken as installed');
      assert.match(output, /notify is starting/);
      assert.equal(await status(`http://127.0.0.1:${demo}/healthz`), 200, 'the demo answers');
    } finally {
      npm.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(20_000).then(() => 'timeout' as const)]);
      // Supervised children drain and go; give the last ones a few seconds (gateways drain).
      let left = processesIn(dir);
      for (let i = 0; i < 60 && left.length > 0; i++) {
        await sleep(250);
        left = processesIn(dir);
      }
      // Whatever is left would hold ports and the database: end it before reporting it.
      for (const line of [...left].reverse()) {
        try {
          process.kill(Number(line.split(':')[0]), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await Promise.all([vhost.drop(), db.drop()]);
      assert.notEqual(code, 'timeout', `npm did not exit within 20 s of SIGTERM:\n${output.slice(-2000)}`);
      assert.deepEqual(left, [], 'no process of the cluster is left after SIGTERM to npm start');
    }
  });
});
