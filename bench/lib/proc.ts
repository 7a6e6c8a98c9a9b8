import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { EXIT_WITH_PARENT, LAUNCHED_STDIO } from '@notify/testing';

export const ROOT = join(__dirname, '..', '..', '..');

export interface BaselineServer {
  port: number;
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

/**
 * A peer process as a BaselineServer: `stop` asks politely (`ask`), gives it `graceMs` to exit, then
 * kills it.
 */
export function peerProcess(
  port: number,
  child: ChildProcess,
  exited: Promise<void>,
  ask: () => Promise<void>,
  graceMs: number,
): BaselineServer {
  return {
    port,
    child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await ask().catch(() => undefined);
        await Promise.race([exited, sleep(graceMs)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await exited;
    },
  };
}

/**
 * Starts a bench helper server (`dist/bench/<script>`) in its own process and resolves once it printed
 * "listening"; rejects with what it printed if it exits or stays silent for `timeoutMs`.
 */
export async function spawnListening(
  name: string,
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT, join(__dirname, '..', script)], {
    env: { ...process.env, ...env },
    stdio: LAUNCHED_STDIO,
  });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not listening: ${out}`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited ${code}: ${out}`));
    });
  });
  return { child, exited };
}

export async function startUwsBaseline(port: number, subscribe = true): Promise<BaselineServer> {
  const { child, exited } = await spawnListening(
    'uws baseline',
    join('baselines', 'uws-publish-server.js'),
    { PORT: String(port), BENCH_SUBSCRIBE: subscribe ? '1' : '0' },
    10_000,
  );
  return {
    port,
    child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

/** ms since epoch, sub-ms precision; comparable across processes on one machine. */
export const now = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of a few RSS samples taken `gapMs` apart (after the process had time to settle). */
export async function settledRss(pid: number, samples = 3, gapMs = 500): Promise<number> {
  const v: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i) await sleep(gapMs);
    v.push(rss(pid));
  }
  v.sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}
