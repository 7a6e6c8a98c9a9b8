import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes';

const HAPROXY = process.env.NOTIFY_TEST_HAPROXY ?? 'haproxy';

export interface HaproxyServerState {
  /** `gw0`, `gw1`, … in the order the backend ports were given. */
  name: string;
  port: number;
  /** HAProxy's view: `UP`, `DOWN`, `UP 1/2`, `DOWN 1/2`, `MAINT`, … */
  status: string;
}

export interface TestHaproxy {
  /** The frontend: `ws://127.0.0.1:<port>/v1/ws?…` reaches whichever gateway HAProxy picks. */
  port: number;
  child: ChildProcess;
  /** Everything HAProxy wrote: alerts and warnings, plus one line per request with `trafficLog`. */
  output(): string;
  /** The backend servers as HAProxy's health checks currently see them. */
  servers(): Promise<HaproxyServerState[]>;
  /** Resolves once every backend server is `UP` (bounded). */
  waitAllUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Whether the haproxy binary (Debian package `haproxy`) is installed. */
export function haproxyAvailable(): boolean {
  return spawnSync(HAPROXY, ['-v'], { stdio: 'ignore' }).status === 0;
}

/**
 * HAProxy in front of gateway nodes, as a load balancer in production would be: round robin over
 * `backendPorts`, health checks on `/readyz` every 500 ms (a node is taken out after 2 failures and
 * back after 2 successes), WebSocket upgrades tunnelled. Runs in the foreground as a child process
 * with a generated config in a temporary directory; `stop()` ends it and removes the directory.
 */
export async function startHaproxy(
  backendPorts: readonly number[],
  options: { trafficLog?: boolean } = {},
): Promise<TestHaproxy> {
  if (!haproxyAvailable()) {
    throw new Error(
      `haproxy not found (${HAPROXY}): install the Debian package with 'apt-get install -y haproxy'`,
    );
  }
  const [port, statsPort] = [await freePort(), await freePort()];
  const dir = await mkdtemp(join(tmpdir(), 'notify-haproxy-'));
  const configFile = join(dir, 'haproxy.cfg');
  await writeFile(configFile, haproxyConfig(port, statsPort, backendPorts, options.trafficLog ?? false));
  const child = spawn(HAPROXY, ['-f', configFile, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const servers = async (): Promise<HaproxyServerState[]> => {
    const res = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`, { signal: AbortSignal.timeout(2000) });
    const [header, ...rows] = (await res.text()).replace(/^# /, '').trim().split('\n');
    const columns = header.split(',');
    const [px, sv, st] = ['pxname', 'svname', 'status'].map((c) => columns.indexOf(c));
    return rows
      .map((row) => row.split(','))
      .filter((cells) => cells[px] === 'gateways' && /^gw\d+$/.test(cells[sv]))
      .map((cells) => ({
        name: cells[sv],
        port: backendPorts[Number(cells[sv].slice(2))],
        status: cells[st],
      }));
  };

  const proxy: TestHaproxy = {
    port,
    child,
    output: () => log,
    servers,
    async waitAllUp(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last: HaproxyServerState[] = [];
      while (Date.now() < deadline) {
        try {
          last = await servers();
          if (last.length === backendPorts.length && last.every((s) => s.status === 'UP')) return;
        } catch {
          // stats listener not up yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`HAProxy backends not all UP after ${timeoutMs} ms: ${JSON.stringify(last)}\n${log}`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await waitListening(port, child, () => log);
  } catch (err) {
    await proxy.stop();
    throw err;
  }
  return proxy;
}

function haproxyConfig(
  port: number,
  statsPort: number,
  backendPorts: readonly number[],
  trafficLog: boolean,
): string {
  return [
    'global',
    '  maxconn 4096',
    ...(trafficLog ? ['  log stdout format raw local0 info'] : []),
    '',
    'defaults',
    '  mode http',
    ...(trafficLog ? ['  log global', '  option httplog'] : []),
    '  maxconn 4000',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    '  timeout http-request 10s',
    // A connection refused by a node that died (before its health checks failed) is retried on another.
    '  retries 3',
    '  option redispatch 1',
    '',
    'frontend ws',
    `  bind 127.0.0.1:${port}`,
    '  default_backend gateways',
    '',
    'backend gateways',
    '  balance roundrobin',
    // HTTP/1.1 with a Host header: uWebSockets.js does not answer HTTP/1.0, HAProxy's default check.
    '  option httpchk GET /readyz HTTP/1.1',
    '  http-check send hdr Host gateway',
    '  default-server inter 500ms fall 2 rise 2',
    ...backendPorts.map((p, i) => `  server gw${i} 127.0.0.1:${p} check`),
    '',
    'listen stats',
    `  bind 127.0.0.1:${statsPort}`,
    '  stats enable',
    '  stats uri /stats',
    '',
  ].join('\n');
}

async function waitListening(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`haproxy exited with ${child.exitCode ?? child.signalCode}:\n${output()}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`haproxy not listening on ${port} after 10 s:\n${output()}`);
}
