// Installs the npm dependencies when they are missing or older than package-lock.json, so that
// `npm start` and `npm test` work on a fresh clone without a separate `npm ci` first.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * npm writes node_modules/.package-lock.json on every install: when it is missing, or older than
 * package-lock.json (a pull changed the dependencies), the tree is installed again with `npm ci`.
 */
export function dependenciesStale(root) {
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(installed)) return 'not installed';
  return statSync(installed).mtimeMs < statSync(join(root, 'package-lock.json')).mtimeMs
    ? 'older than package-lock.json'
    : null;
}

export function ensureDependencies(root) {
  const stale = dependenciesStale(root);
  if (!stale) return;
  console.log(`npm dependencies ${stale}: running npm ci`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error("npm ci failed: check the network and Node's version (20), then run 'npm ci' yourself");
    process.exit(r.status ?? 1);
  }
}
