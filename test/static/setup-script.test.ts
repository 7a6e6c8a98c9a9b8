import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { obj, read, ROOT, str } from './helpers';

const SETUP = join(ROOT, 'scripts', 'setup.sh');
const run = (
  args: string[],
  wrap: string[] = [],
  script = SETUP,
): { code: number | null; out: string; err: string } => {
  const [cmd = 'bash', ...rest] = [...wrap, 'bash', script, ...args];
  const r = spawnSync(cmd, rest, { cwd: dirname(dirname(script)), encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** `npm run setup`: the one-time Debian part of the README's start path. */
describe('npm run setup (scripts/setup.sh)', () => {
  it('is the npm script the README names, before npm start and npm test', () => {
    const scripts = obj(obj(JSON.parse(read('package.json')), 'package.json').scripts, 'scripts');
    assert.equal(str(scripts.setup, 'scripts.setup'), 'bash scripts/setup.sh');
    const readme = read('README.md');
    const at = (s: string): number => readme.indexOf(s);
    for (const s of ['git clone', 'sudo npm run setup', 'npm start', 'npm test']) assert.ok(at(s) >= 0, s);
    assert.ok(at('git clone') < at('sudo npm run setup'), 'clone, then setup');
    assert.ok(at('sudo npm run setup') < at('\nnpm start'), 'setup, then npm start');
    assert.ok(at('\nnpm start') < at('\nnpm test'), 'npm start, then npm test');
  });

  it('--dry-run prints each command it would run, prefixed with +, and changes nothing', () => {
    const { code, out, err } = run(['--dry-run']);
    assert.equal(code, 0, err);
    const commands = out.split('\n').filter((l) => l.startsWith('+ '));
    assert.ok(commands.length >= 1, out);
    assert.ok(commands.includes('+ bash scripts/ensure-services.sh'), out);
    // Every package is either installed already or in the apt-get line.
    const setup = read('scripts/setup.sh');
    const packages = /PACKAGES=\(([^)]+)\)/.exec(setup)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
    assert.deepEqual([...packages].sort(), [
      'chromium',
      'haproxy',
      'openssl',
      'php-amqplib',
      'php-cli',
      'postgresql',
      'rabbitmq-server',
    ]);
    const install = commands.find((c) => c.includes('apt-get install'));
    if (!install) assert.match(out, /packages: all installed/);
    assert.match(out, /setup done: now 'npm start'/);
  });

  it('refuses clearly, in one line, without root', (t) => {
    if (spawnSync('setpriv', ['--version']).status !== 0) return t.skip('setpriv (util-linux) is missing');
    // The checkout may sit in a directory only root can enter (mktemp -d makes it 0700): the
    // unprivileged user runs a copy of the script from a directory it can read.
    const dir = mkdtempSync(join(tmpdir(), 'notify-setup-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'scripts'), { mode: 0o755 });
    const script = join(dir, 'scripts', 'setup.sh');
    copyFileSync(SETUP, script);
    chmodSync(script, 0o755);
    let result;
    try {
      result = run([], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], script);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const { code, out, err } = result;
    assert.equal(code, 1);
    assert.equal(out, '');
    assert.equal(
      err,
      "npm run setup: needs root to install Debian packages and configure PostgreSQL: run 'sudo npm run setup' (or 'npm run setup -- --dry-run' to see the commands)\n",
    );
  });

  it('an unknown argument is a usage error (exit 2)', () => {
    const { code, err } = run(['--frobnicate']);
    assert.equal(code, 2);
    assert.match(err, /^usage: npm run setup/);
  });
});
