import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { request, tlsEnv, type TestCertificate } from './tls';

const ROOT = join(__dirname, '..', '..', '..');

export interface ServiceProcess {
  name: string;
  port: number;
  /** `http://127.0.0.1:<port>`, or `https://` when started with TLS. */
  url: string;
  /** The CA its certificate is trusted with, when started with TLS. */
  ca: Buffer | undefined;
  /** NOTIFY_NODE_ID it was started with: how waitReady knows the answer came from this process. */
  nodeId: string | undefined;
  child: ChildProcess;
  /** Everything the process wrote, for assertions and for failure reports. */
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Ports freePort has handed out in this process: the OS may offer a just-released port again. */
const handedOut = new Set<number>();

/**
 * A port nothing listens on now, never one this process was given before: two services of one
 * cluster once got the same port back to back (the kernel picks ports at random and both were free).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * Node flags each service is deployed with (Kubernetes, compose, `npm start`; a test keeps them in
 * step). The gateway caps V8's young generation: see docs/architecture.md, "Gateway memory".
 */
export const SERVICE_NODE_FLAGS: Record<'ingest' | 'gateway', readonly string[]> = {
  ingest: [],
  gateway: ['--max-semi-space-size=2', '--expose-gc'],
};

/**
 * Node flags and stdio for a process this harness starts: it stops when its launcher is gone
 * (scripts/exit-with-parent.cjs), so a killed test or benchmark leaves nothing running.
 */
export const EXIT_WITH_PARENT = ['--require', join(ROOT, 'scripts', 'exit-with-parent.cjs')] as const;
export const LAUNCHED_STDIO: ['pipe', 'pipe', 'pipe'] = ['pipe', 'pipe', 'pipe'];

/**
 * Starts a built service (`node dist/services/<name>/src/main.js`) as a real process; with `tls` it
 * serves HTTPS/WSS with that certificate.
 */
export function spawnService(
  name: 'ingest' | 'gateway',
  port: number,
  env: Record<string, string>,
  options: { tls?: TestCertificate } = {},
): ServiceProcess {
  // Node flags the process starts with (e.g. --cpu-prof, which NODE_OPTIONS does not allow).
  const { SERVICE_NODE_ARGS: nodeArgs = '', ...serviceEnv } = env;
  const script = join(ROOT, 'dist', 'services', name, 'src', 'main.js');
  const flags = [...EXIT_WITH_PARENT, ...SERVICE_NODE_FLAGS[name], ...nodeArgs.split(' ').filter(Boolean)];
  const child = spawn(process.execPath, [...flags, script], {
    cwd: ROOT,
    env: {
      ...process.env,
      NOTIFY_LOG_LEVEL: process.env.NOTIFY_LOG_LEVEL ?? 'info',
      ...(options.tls ? tlsEnv(options.tls) : {}),
      ...serviceEnv,
    },
    stdio: LAUNCHED_STDIO,
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    port,
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    ca: options.tls?.ca,
    nodeId: env.NOTIFY_NODE_ID,
    child,
    output: () => log,
    exited,
    async stop(signal = 'SIGTERM') {
      // A CPU profile is written only on a clean exit: let a profiled process drain first.
      if (signal === 'SIGKILL' && nodeArgs.includes('--cpu-prof') && child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      }
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Starts a service that is expected to exit (bad configuration): its exit code and what it wrote. */
export async function runToExit(
  name: 'ingest' | 'gateway',
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const service = spawnService(name, await freePort(), env);
  const timer = setTimeout(() => service.child.kill('SIGKILL'), 15_000);
  const code = await service.exited;
  clearTimeout(timer);
  return { code, output: service.output().trim() };
}

/** Polls `/readyz` until it answers 200; fails with the process output if it exits or times out. */
export async function waitReady(service: ServiceProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) {
      throw new Error(`${service.name} exited with ${service.child.exitCode}:\n${service.output()}`);
    }
    try {
      const res = await request(`${service.url}/readyz`, { ca: service.ca });
      if (res.status === 200) {
        // freePort() then spawn can race: make sure the process answering is the one started here.
        const healthz = await request(`${service.url}/healthz`, { ca: service.ca });
        const health = JSON.parse(healthz.text) as { node?: string };
        if (service.nodeId === undefined || health.node === service.nodeId) return;
        throw new Error(
          `port ${service.port} is answered by node ${health.node}, not ${service.nodeId}:\n${service.output()}`,
        );
      }
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('port ')) throw err;
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${service.name} not ready after ${timeoutMs} ms:\n${service.output()}`);
}
