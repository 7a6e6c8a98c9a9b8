import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_WITH_PARENT, LAUNCHED_STDIO } from '@notify/testing';
import { peerProcess, ROOT, sleep, type BaselineServer } from './proc';

/** bench/peers/soketi in the source tree: its own package.json and lock, never notify's dependencies. */
const PEER_DIR = join(ROOT, 'bench', 'peers', 'soketi');
const SERVER = join(PEER_DIR, 'node_modules', '@soketi', 'soketi', 'bin', 'server.js');

export const SOKETI_APP = { id: 'bench-app', key: 'bench-key', secret: 'bench-secret-0123' } as const;

/** Installs Soketi from its lock file the first time a run needs it (about a minute, ~300 MB). */
export function ensureSoketi(log: (line: string) => void): string {
  if (existsSync(SERVER)) return 'installed';
  log(`  installing Soketi into ${PEER_DIR} (npm ci, once)`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: PEER_DIR,
    stdio: 'inherit',
    timeout: 600_000,
  });
  if (r.status !== 0 || !existsSync(SERVER))
    throw new Error(`npm ci in ${PEER_DIR} failed (status ${r.status}): W7 needs Soketi from npm`);
  return 'installed by this run';
}

export function soketiVersion(): string {
  const meta = join(PEER_DIR, 'node_modules', '@soketi', 'soketi', 'package.json');
  return existsSync(meta) ? (JSON.parse(readFileSync(meta, 'utf8')) as { version: string }).version : '?';
}

/**
 * Starts Soketi with one app, metrics off and no limits, on `port`, and waits until its HTTP server answers.
 * Its uWebSockets.js is the same native build the gateway runs on (an npm override in its package.json).
 */
export async function startSoketi(port: number, usagePort: number): Promise<BaselineServer> {
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT, SERVER, 'start'], {
    cwd: PEER_DIR,
    env: {
      ...process.env,
      SOKETI_PORT: String(port),
      SOKETI_HOST: '127.0.0.1',
      SOKETI_METRICS_ENABLED: 'false',
      // Its /usage server listens even with metrics off: a free port, not the default 9601.
      SOKETI_METRICS_SERVER_PORT: String(usagePort),
      SOKETI_DEFAULT_APP_ID: SOKETI_APP.id,
      SOKETI_DEFAULT_APP_KEY: SOKETI_APP.key,
      SOKETI_DEFAULT_APP_SECRET: SOKETI_APP.secret,
      SOKETI_DEFAULT_APP_MAX_CONNS: '-1',
      SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC: '-1',
      SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC: '-1',
      SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC: '-1',
    },
    stdio: LAUNCHED_STDIO,
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`soketi exited ${child.exitCode}: ${out}`);
    const ok = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (i > 150) {
      child.kill('SIGKILL');
      throw new Error(`soketi not answering on :${port} after 15 s: ${out}`);
    }
    await sleep(100);
  }
  const ask = async (): Promise<void> => {
    child.kill('SIGTERM');
  };
  return peerProcess(port, child, exited, ask, 5000);
}
