import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { KeepAliveClient } from './http-client';
import { HTTP_IN_FLIGHT } from './producers';
import { peerProcess, sleep, spawnListening, type BaselineServer } from './proc';

export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;

/** One `PING` over a raw socket: true if Redis answers `+PONG` within `timeoutMs`. */
export function redisPing(timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: REDIS_HOST, port: REDIS_PORT });
    let got = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

/**
 * Makes sure Redis answers on 127.0.0.1:6379; starts a local one without persistence if not.
 * Returns how it found it, for the notes.
 */
export async function ensureRedis(log: (line: string) => void): Promise<'running' | 'started'> {
  if (await redisPing()) return 'running';
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0 || !which.stdout.trim()) {
    throw new Error(
      'Redis is not answering on 127.0.0.1:6379 and redis-server is not installed (apt-get install redis-server); W5 (Socket.IO peer with the Redis Streams adapter) needs it',
    );
  }
  for (const dir of ['/var/lib/redis', '/var/log/redis']) mkdirSync(dir, { recursive: true });
  log('  redis not answering on 127.0.0.1:6379: starting redis-server (no persistence)');
  const started = spawnSync(
    'redis-server',
    [
      '--daemonize', 'yes',
      '--bind', '127.0.0.1', '-::1',
      '--port', String(REDIS_PORT),
      '--save', '',
      '--appendonly', 'no',
      '--dir', '/var/lib/redis',
      '--logfile', '/var/log/redis/ci.log',
    ], // prettier-ignore
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (started.status !== 0) {
    throw new Error(`redis-server did not start: ${(started.stderr || started.stdout || '').trim()}`);
  }
  for (let i = 0; i < 50; i++) {
    if (await redisPing()) return 'started';
    await sleep(100);
  }
  throw new Error(
    'redis-server started but does not answer PING on 127.0.0.1:6379 (see /var/log/redis/ci.log)',
  );
}

/** Starts bench/peers/socketio-server in its own process and waits until it listens. */
export async function startSocketIoPeer(
  port: number,
  env: { streamName: string; jwtSecret: string; storeUrl?: string },
): Promise<BaselineServer> {
  const { child, exited } = await spawnListening(
    'socket.io peer',
    join('peers', 'socketio-server.js'),
    {
      PORT: String(port),
      REDIS_URL: `redis://${REDIS_HOST}:${REDIS_PORT}`,
      STREAM_NAME: env.streamName,
      SESSION_PREFIX: `${env.streamName}:session:`,
      JWT_SECRET: env.jwtSecret,
      ...(env.storeUrl ? { STORE_URL: env.storeUrl } : {}),
    },
    15_000,
  );
  // Lets it delete this run's stream and session keys from Redis, then makes sure it is gone.
  const ask = async (): Promise<void> => {
    closePeerClient(port);
    await fetch(`http://127.0.0.1:${port}/shutdown`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  };
  return peerProcess(port, child, exited, ask, 2000);
}

/** `POST /notify` on the peer: emits each item to `user:<userId>`; answers how many acks it counted so far. */
export async function postToPeer(
  port: number,
  items: { userId: string; notification: Record<string, unknown> }[],
): Promise<{ acked: number }> {
  const res = await peerClient(port).request(
    'POST',
    '/notify',
    { 'content-type': 'application/json' },
    JSON.stringify({ items }),
  );
  if (res.status !== 200) throw new Error(`POST /notify answered ${res.status}`);
  return JSON.parse(res.body.toString('utf8')) as { acked: number };
}

/**
 * The producer's connections to a peer: the same client and connection count as notify's HTTP
 * producer (`httpProducer`), so that both sides are loaded by the same code.
 */
const peerClients = new Map<number, KeepAliveClient>();

function peerClient(port: number): KeepAliveClient {
  let client = peerClients.get(port);
  if (!client) peerClients.set(port, (client = new KeepAliveClient('127.0.0.1', port, HTTP_IN_FLIGHT)));
  return client;
}

function closePeerClient(port: number): void {
  peerClients.get(port)?.close();
  peerClients.delete(port);
}
