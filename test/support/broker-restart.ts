import { execFile } from 'node:child_process';
import { Socket } from 'node:net';

const RABBITMQCTL = process.env.NOTIFY_TEST_RABBITMQCTL ?? 'rabbitmqctl';
const AMQP_PORT = 5672;
const MANAGEMENT_PORT = Number(
  new URL(process.env.NOTIFY_TEST_RABBITMQ_MANAGEMENT ?? 'http://127.0.0.1:15672').port || 15672,
);

export interface BrokerRestart {
  /** Milliseconds `rabbitmqctl stop_app` took. */
  stopMs: number;
  /** From the stop's end until 127.0.0.1:5672 (and the management API) accepted connections again. */
  downMs: number;
}

function rabbitmqctl(command: 'stop_app' | 'start_app', timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(RABBITMQCTL, [command], { timeout: timeoutMs }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${RABBITMQCTL} ${command} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, host);
  });
}

async function waitPorts(ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await portOpen(port))) {
      if (Date.now() > deadline) throw new Error(`127.0.0.1:${port} not accepting after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Restarts the RabbitMQ application on the local (shared) broker: `rabbitmqctl stop_app`, a pause,
 * `rabbitmqctl start_app`, then waits until AMQP (5672) and the management API (15672) accept
 * connections again. Every vhost on the broker sees its connections closed, so only tests that run
 * alone (the chaos tests) may call it. It always tries to leave the broker running.
 */
export async function restartRabbitmq(
  options: { downMs?: number; timeoutMs?: number } = {},
): Promise<BrokerRestart> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const started = Date.now();
  let stopped = started;
  try {
    await rabbitmqctl('stop_app', timeoutMs);
    stopped = Date.now();
    await new Promise((r) => setTimeout(r, options.downMs ?? 1000));
  } finally {
    // Whatever happened above, leave the shared broker running (one retry).
    await rabbitmqctl('start_app', timeoutMs).catch(async (err: unknown) => {
      await new Promise((r) => setTimeout(r, 1000));
      await rabbitmqctl('start_app', timeoutMs).catch(() => {
        throw err;
      });
    });
  }
  await waitPorts([AMQP_PORT, MANAGEMENT_PORT], timeoutMs);
  return { stopMs: stopped - started, downMs: Date.now() - stopped };
}
