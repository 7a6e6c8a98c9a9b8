#!/usr/bin/env node
// Builds the demo pages into demo/dist: index.html, styles.css, app.js (the page's code) and
// notify-client.js (the SDK's browser bundle, loaded as its own module: the page imports it), and the
// Pusher page: pusher.html and pusher.js (laravel-echo with pusher-js).
// Usage: node demo/build.mjs [--check]   (--check also type-checks demo/src and the SDK with DOM types)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
export const demoDist = join(here, 'dist');

export async function buildDemo({ check = false } = {}) {
  if (check) {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], {
      stdio: 'inherit',
    });
    if (result.status !== 0) throw new Error('the demo does not type-check');
  }
  rmSync(demoDist, { recursive: true, force: true });
  mkdirSync(demoDist, { recursive: true });
  const common = {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
  await build({
    ...common,
    entryPoints: [join(root, 'libs', 'sdk', 'src', 'index.ts')],
    outfile: join(demoDist, 'notify-client.js'),
    tsconfig: join(root, 'libs', 'sdk', 'tsconfig.json'),
  });
  await build({
    ...common,
    entryPoints: [join(here, 'src', 'main.ts')],
    outfile: join(demoDist, 'app.js'),
    tsconfig: join(here, 'tsconfig.json'),
    // The SDK stays a separate file (cached on its own, and the page proves the bundle works alone).
    plugins: [
      {
        name: 'sdk-external',
        setup(b) {
          b.onResolve({ filter: /^@notify\/client$/ }, () => ({
            path: './notify-client.js',
            external: true,
          }));
        },
      },
    ],
  });
  // The Pusher page: laravel-echo and pusher-js, bundled together as a Laravel app's Vite build would.
  await build({
    ...common,
    entryPoints: [join(here, 'src', 'pusher.ts')],
    outfile: join(demoDist, 'pusher.js'),
    tsconfig: join(here, 'tsconfig.json'),
  });
  for (const file of ['index.html', 'pusher.html', 'styles.css'])
    copyFileSync(join(here, file), join(demoDist, file));
  const sizes = {};
  for (const file of ['index.html', 'styles.css', 'app.js', 'notify-client.js', 'pusher.html', 'pusher.js']) {
    sizes[file] = gzipSync(readFileSync(join(demoDist, file)), { level: 9 }).length;
  }
  return sizes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = await buildDemo({ check: process.argv.includes('--check') });
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  console.log(
    `demo built in demo/dist: ${Object.entries(sizes)
      .map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} kB`)
      .join(', ')} (gzipped; ${(total / 1024).toFixed(1)} kB in all)`,
  );
}
