import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { freePort } from '@notify/testing';

/** What the browser tests share: the demo build, the demo server as a process, Debian's Chromium. */
export const ROOT = join(__dirname, '..', '..', '..');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser');
const CHROMIUM = process.env.NOTIFY_TEST_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-gpu',
  '--no-first-run',
];
export const UI_TIMEOUT = 15_000;

/** Type-checks the pages and the SDK with DOM types, then bundles them (esbuild). */
export function buildDemo(): void {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} not found: install Debian's chromium ('apt-get install -y chromium')`,
  );
  const build = spawnSync(process.execPath, [join(ROOT, 'demo', 'build.mjs'), '--check'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(build.status, 0, `demo build failed:\n${build.stdout}${build.stderr}`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface DemoServer {
  port: number;
  log(): string;
  stop(): Promise<void>;
}

/** scripts/demo-server.mjs on a free port, serving the build above, with `env` on top of ours. */
export async function startDemoServer(env: Record<string, string>): Promise<DemoServer> {
  const port = await freePort();
  let log = '';
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'demo-server.mjs')], {
    cwd: ROOT,
    env: { ...process.env, DEMO_NO_BUILD: '1', DEMO_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const server: DemoServer = {
    port,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, () => log);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

async function waitHttp(url: string, output: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not up after ${timeoutMs} ms:\n${output()}`);
}
