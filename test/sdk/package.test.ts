import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backoffDelay, MIN_RETRY_MS } from '@notify/client';

const ROOT = join(__dirname, '..', '..', '..');
const SDK = join(ROOT, 'libs', 'sdk');
const PACKAGE = '@notify/client';

function run(args: string[], cwd = ROOT): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('@notify/client package', () => {
  it('builds an ESM module, a dependency-free browser bundle under 10 kB gzipped, and types', () => {
    const build = run([join(SDK, 'build.mjs')]);
    assert.equal(build.status, 0, build.output);
    const size = JSON.parse(readFileSync(join(SDK, 'dist', 'size.json'), 'utf8')) as { gzipBytes: number };
    assert.ok(size.gzipBytes < 10 * 1024, `gzipped bundle ${size.gzipBytes} bytes`);

    const bundle = readFileSync(join(SDK, 'dist', 'notify-client.min.js'), 'utf8');
    assert.doesNotMatch(bundle, /\brequire\(/, 'no CommonJS require');
    assert.doesNotMatch(bundle, /\bimport\s*[^;]*?from\s*["'][^"']+["']/, 'no imports: dependency-free');
    assert.doesNotMatch(bundle, /\bimport\(/, 'no dynamic imports');
    assert.doesNotMatch(bundle, /["'`]node:|\bprocess\.|\bBuffer\b|__dirname/, 'nothing Node-only');
    assert.match(bundle, /export\s*\{/, 'an ES module');

    const pkg = JSON.parse(readFileSync(join(SDK, 'package.json'), 'utf8')) as {
      name: string;
      type: string;
      exports: Record<string, { types: string; import: string }>;
    };
    assert.equal(pkg.name, '@notify/client');
    assert.equal(pkg.type, 'module');
    for (const file of [pkg.exports['.'].types, pkg.exports['.'].import]) {
      assert.ok(readFileSync(join(SDK, file), 'utf8').length > 0, file);
    }
  });

  it('packs with npm pack, and the tarball loads with import and with require in a scratch project', () => {
    const dir = mkdtempSync(join(tmpdir(), 'notify-sdk-pack-'));
    try {
      const pack = spawnSync('npm', ['pack', '--silent', '--pack-destination', dir], {
        cwd: SDK,
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(pack.status, 0, `${pack.stdout}${pack.stderr}`);
      const tarball = join(dir, pack.stdout.trim().split('\n').pop() ?? '');
      const modules = join(dir, 'app', 'node_modules', '@notify');
      mkdirSync(modules, { recursive: true });
      const untar = spawnSync('tar', ['-xzf', tarball, '-C', modules], { encoding: 'utf8' });
      assert.equal(untar.status, 0, untar.stderr);
      renameSync(join(modules, 'package'), join(modules, 'client'));
      const files = readdirSync(join(modules, 'client', 'dist'));
      for (const f of ['index.js', 'index.cjs', 'notify-client.min.js']) assert.ok(files.includes(f), f);
      const check = 'typeof m.NotifyClient === "function" && m.CloseCode.TokenExpired === 4401';
      const esm = run(
        [
          '--input-type=module',
          '-e',
          `const m = await import('${PACKAGE}'); if (!(${check})) process.exit(1);`,
        ],
        join(dir, 'app'),
      );
      assert.equal(esm.status, 0, esm.output);
      const cjs = run(
        ['--input-type=commonjs', '-e', `const m = require('${PACKAGE}'); if (!(${check})) process.exit(1);`],
        join(dir, 'app'),
      );
      assert.equal(cjs.status, 0, cjs.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads as ESM in Node, and type-checks in a consumer under node16 and bundler resolution', () => {
    const load = run([
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(join(SDK, 'dist', 'index.js'))});
       if (typeof m.NotifyClient !== 'function' || m.CloseCode.TokenExpired !== 4401) process.exit(1);`,
    ]);
    assert.equal(load.status, 0, load.output);

    // A consumer project outside the repository (so lint never sees it), with the package linked in
    // as an install would put it, and `ws` and the type packages from the repository's node_modules.
    const dir = mkdtempSync(join(tmpdir(), 'notify-sdk-consumer-'));
    mkdirSync(join(dir, 'node_modules', '@notify'), { recursive: true });
    symlinkSync(SDK, join(dir, 'node_modules', '@notify', 'client'), 'dir');
    for (const dep of ['ws', '@types', 'typescript']) {
      symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
    }
    writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
    writeFileSync(
      join(dir, 'consumer.ts'),
      [
        "import WebSocket from 'ws';",
        // The name comes from a constant: the repository aliases it too, and tsc-alias rewrites an import
        // of it written out here, even inside a string, to the source path.
        `import { NotifyClient, MemoryStorage, type UserNotification, type ConnectionState } from '${PACKAGE}';`,
        'const client = new NotifyClient({',
        "  url: 'ws://127.0.0.1:1/v1/ws',",
        "  token: async () => 'jwt',",
        '  WebSocket,',
        '  storage: new MemoryStorage(),',
        '});',
        'client.on("notification", (n: UserNotification) => { const seq: number = n.seq; void seq; });',
        'client.on("state", ({ state }) => { const s: ConnectionState = state; void s; });',
        'const off = client.subscribe("public.ticker", (m) => void m.offset);',
        'off();',
        'export async function all(): Promise<number> {',
        '  let n = 0;',
        '  for await (const item of client.history({ limit: 50 })) n += item.seq > 0 ? 1 : 0;',
        '  return n + (await client.history()).items.length;',
        '}',
        '',
      ].join('\n'),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      for (const [module, resolution] of [
        ['node16', 'node16'],
        ['esnext', 'bundler'],
      ]) {
        const check = run(
          [
            tsc,
            '--noEmit',
            '--strict',
            '--skipLibCheck',
            '--target',
            'es2022',
            '--module',
            module,
            '--moduleResolution',
            resolution,
            '--types',
            'node',
            'consumer.ts',
          ],
          dir,
        );
        assert.equal(check.status, 0, `${module}/${resolution}:\n${check.output}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('backs off with full jitter, within [floor, min(cap, base·2^n)), never in a tight loop', () => {
    assert.equal(
      backoffDelay(0, 500, 30_000, () => 0),
      MIN_RETRY_MS,
    );
    assert.equal(
      backoffDelay(0, 500, 30_000, () => 0.999),
      499,
    );
    assert.equal(
      backoffDelay(3, 500, 30_000, () => 0.5),
      2000,
    );
    assert.equal(
      backoffDelay(10, 500, 30_000, () => 0.999),
      29_970,
    );
    assert.equal(
      backoffDelay(10_000, 500, 30_000, () => 0.5),
      15_000,
      'no overflow',
    );
    for (let attempt = 0; attempt < 40; attempt++) {
      const d = backoffDelay(attempt, 200, 5000);
      assert.ok(d >= MIN_RETRY_MS && d < 5000, `attempt ${attempt}: ${d}`);
    }
  });
});
