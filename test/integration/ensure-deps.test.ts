import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const ROOT = join(__dirname, '..', '..', '..');

describe('scripts/ensure-deps.mjs (npm start and npm test install what is missing)', () => {
  it('calls a tree stale when it was never installed or package-lock.json changed since', () => {
    // The script is ESM and this test is compiled to CommonJS: ask a node of its own.
    const script = pathToFileURL(join(ROOT, 'scripts', 'ensure-deps.mjs')).href;
    const dependenciesStale = (root: string): string | null =>
      JSON.parse(
        execFileSync(process.execPath, [
          '--input-type=module',
          '-e',
          `import { dependenciesStale } from ${JSON.stringify(script)}; console.log(JSON.stringify(dependenciesStale(${JSON.stringify(root)})))`,
        ]).toString(),
      ) as string | null;
    const dir = mkdtempSync(join(tmpdir(), 'notify-deps-'));
    try {
      writeFileSync(join(dir, 'package-lock.json'), '{}');
      assert.equal(dependenciesStale(dir), 'not installed');
      mkdirSync(join(dir, 'node_modules'));
      writeFileSync(join(dir, 'node_modules', '.package-lock.json'), '{}');
      const t = Date.now() / 1000;
      utimesSync(join(dir, 'package-lock.json'), t - 60, t - 60);
      utimesSync(join(dir, 'node_modules', '.package-lock.json'), t, t);
      assert.equal(dependenciesStale(dir), null);
      utimesSync(join(dir, 'package-lock.json'), t + 60, t + 60);
      assert.equal(dependenciesStale(dir), 'older than package-lock.json');
      // This checkout, installed by .ci/run or by the test command itself, is fresh.
      assert.equal(dependenciesStale(ROOT), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
