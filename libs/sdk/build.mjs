#!/usr/bin/env node
// Builds @notify/client into libs/sdk/dist:
//   index.js               ESM (bundled with the protocol types' runtime bits, readable), with source map
//   index.cjs              the same as CommonJS, for require()
//   notify-client.min.js   the browser bundle: ESM, minified, dependency-free
//   types/                 .d.ts (tsc), with the protocol's declarations beside them
//   size.json              bytes and gzipped bytes of the browser bundle
// Usage: node libs/sdk/build.mjs [--no-types]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');

/** The browser bundle's gzipped size must stay under this (the SDK's budget). */
export const GZIP_BUDGET_BYTES = 10 * 1024;

export async function buildSdk({ types = true } = {}) {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const common = {
    entryPoints: [join(here, 'src', 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2020',
    tsconfig: join(here, 'tsconfig.json'),
    legalComments: 'none',
    logLevel: 'warning',
  };
  await build({ ...common, outfile: join(dist, 'index.js'), sourcemap: true });
  // For CommonJS consumers (`require('@notify/client')`): the same code, the same single file.
  await build({ ...common, format: 'cjs', outfile: join(dist, 'index.cjs'), sourcemap: true });
  await build({ ...common, outfile: join(dist, 'notify-client.min.js'), minify: true, sourcemap: true });
  const bundle = readFileSync(join(dist, 'notify-client.min.js'));
  const size = { bytes: bundle.length, gzipBytes: gzipSync(bundle, { level: 9 }).length };
  writeFileSync(join(dist, 'size.json'), `${JSON.stringify(size, null, 2)}\n`);
  if (types) buildTypes();
  return size;
}

function buildTypes() {
  const tsc = join(here, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('tsc failed on libs/sdk');
  // tsc keeps `@notify/protocol` and extensionless relative imports in the declarations: make them
  // resolvable by a consumer's TypeScript under any module resolution (node16 ESM needs `.js`).
  const typesDir = join(dist, 'types');
  const protocolIndex = join(typesDir, 'protocol', 'src', 'index.js');
  for (const file of walk(typesDir).filter((f) => f.endsWith('.d.ts'))) {
    const source = readFileSync(file, 'utf8');
    const rewritten = source.replace(/(from\s+|import\()(['"])([^'"]+)\2/g, (match, lead, quote, spec) => {
      let target = spec;
      if (spec === '@notify/protocol') {
        target = relative(dirname(file), protocolIndex);
        if (!target.startsWith('.')) target = `./${target}`;
      } else if (spec.startsWith('.') && !spec.endsWith('.js')) {
        const base = join(dirname(file), spec);
        target = isDirectory(base) ? `${spec}/index.js` : `${spec}.js`;
      } else {
        return match;
      }
      return `${lead}${quote}${target}${quote}`;
    });
    if (rewritten !== source) writeFileSync(file, rewritten);
  }
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

function isDirectory(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const size = await buildSdk({ types: !process.argv.includes('--no-types') });
  const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
  console.log(
    `@notify/client built: notify-client.min.js ${kb(size.bytes)}, ${kb(size.gzipBytes)} gzipped (budget ${kb(GZIP_BUDGET_BYTES)})`,
  );
  if (size.gzipBytes > GZIP_BUDGET_BYTES) {
    console.error('the browser bundle is over its gzip budget');
    process.exit(1);
  }
}
