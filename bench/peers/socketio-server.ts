/**
 * Peer for workload 5: the idiomatic Socket.IO 4 server for what notify does, in its own process.
 *
 * - Adapter: `@socket.io/redis-streams-adapter` on node-redis, with `connectionStateRecovery` on. The
 *   classic `@socket.io/redis-adapter` (Redis Pub/Sub) does not support connection state recovery; the
 *   Redis Streams adapter does (sessions as Redis keys, missed packets replayed from the stream).
 * - Auth: an `io.use` middleware verifying the HS256 JWT from the CONNECT packet's `auth.token` with
 *   notify's own verifier (`@notify/auth`, synchronous HS256), then `socket.join('user:' + sub)`.
 * - Events from clients: `subscribe` (joins `channel:<name>`, answers through the ack callback; `public.*`
 *   or a channel granted by the token's `channels` claim) and `ack` (counted).
 * - Producer paths (HTTP on the same port, outside `/socket.io/`):
 *   `POST /notify` `{"items":[{"userId":…,"notification":{…}}]}` emits each with
 *   `io.to('user:' + userId).emit('notification', notification)`, the idiomatic way for an external backend
 *   to reach a Socket.IO cluster whose emitter package for the streams adapter is not on npm;
 *   `GET /publish?channel=&count=&batch=&bytes=` emits `count` messages of about `bytes` bytes to
 *   `channel:<name>`, `batch` per event-loop turn, from inside the process (Socket.IO's fan-out ceiling);
 *   `GET /stats` answers `{connections, acked, subscribed}`; `POST /shutdown` deletes this run's stream
 *   and session keys from Redis and exits.
 *
 * - With `STORE_URL` (a PostgreSQL database of its own): the peer a team builds when notifications
 *   must survive, as the articles on Socket.IO notification systems show it: `POST /notify` first
 *   inserts the request's notifications into a `notifications` table (one multi-row INSERT per
 *   request, committed, ids returned), then emits each with its id. Without it, nothing is stored.
 *
 * Env: PORT, REDIS_URL, STREAM_NAME, SESSION_PREFIX, JWT_SECRET, STORE_URL (optional).
 * Run: `node dist/bench/peers/socketio-server.js` (bench/lib/socketio-peer.ts starts it).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Pool } from 'pg';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { JwtVerifier } from '@notify/auth';

const port = Number(process.env.PORT ?? 0);
const streamName = process.env.STREAM_NAME ?? `notify-bench-${process.pid}`;
const sessionKeyPrefix = process.env.SESSION_PREFIX ?? `${streamName}:session:`;
const verifier = new JwtVerifier({ secret: process.env.JWT_SECRET ?? '' });

const store = process.env.STORE_URL ? new Pool({ connectionString: process.env.STORE_URL, max: 10 }) : null;

let acked = 0;
let subscribed = 0;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit = 16 * 2 ** 20): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  redis.on('error', (err: Error) => process.stderr.write(`socketio-server: redis: ${err.message}\n`));
  await redis.connect();
  await store?.query(
    `CREATE TABLE IF NOT EXISTS notifications (
       id bigserial PRIMARY KEY, user_id text NOT NULL, payload jsonb NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now())`,
  );

  const http = createServer();
  const io = new Server(http, {
    adapter: createAdapter(redis, { streamName, sessionKeyPrefix }),
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: true },
  });

  io.use((socket, next) => {
    try {
      const token = (socket.handshake.auth as { token?: unknown }).token;
      const claims = verifier.verifySync(typeof token === 'string' ? token : undefined);
      socket.data.userId = claims.userId;
      socket.data.channels = claims.channels;
      next();
    } catch (err) {
      next(new Error(err instanceof Error ? err.message : 'unauthorized'));
    }
  });

  io.on('connection', (socket) => {
    void socket.join(`user:${socket.data.userId as string}`);
    socket.on('subscribe', (channel: unknown, ack?: (reply: unknown) => void) => {
      const grants = socket.data.channels as readonly string[];
      const allowed =
        typeof channel === 'string' &&
        (channel.startsWith('public.') ||
          grants.some((g) => g === channel || (g.endsWith('.*') && channel.startsWith(g.slice(0, -1)))));
      if (!allowed) {
        if (typeof ack === 'function') ack({ error: 'forbidden' });
        return;
      }
      void socket.join(`channel:${channel}`);
      subscribed++;
      if (typeof ack === 'function') ack({ ok: true, channel });
    });
    socket.on('ack', () => {
      acked++;
    });
  });

  // engine.io hands every request outside /socket.io/ to the listeners registered before it attached;
  // these are registered after, so they check the path themselves.
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/socket.io/')) return;
    void route(url, req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });

  async function route(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (url.pathname === '/stats') {
      return json(res, 200, { connections: io.engine.clientsCount, acked, subscribed });
    }
    if (url.pathname === '/notify' && req.method === 'POST') {
      const body = JSON.parse(await readBody(req)) as {
        items: { userId: string; notification: Record<string, unknown> }[];
      };
      if (store) {
        const { rows } = await store.query<{ id: string }>(
          'INSERT INTO notifications (user_id, payload) SELECT * FROM unnest($1::text[], $2::jsonb[]) RETURNING id',
          [body.items.map((i) => i.userId), body.items.map((i) => JSON.stringify(i.notification))],
        );
        body.items.forEach((item, k) => (item.notification.id = rows[k].id));
      }
      for (const item of body.items) io.to(`user:${item.userId}`).emit('notification', item.notification);
      return json(res, 200, { accepted: body.items.length, acked });
    }
    if (url.pathname === '/publish') {
      const channel = url.searchParams.get('channel') ?? 'public.bench';
      const count = Math.min(Number(url.searchParams.get('count') ?? 100), 1_000_000);
      const batch = Math.max(1, Number(url.searchParams.get('batch') ?? 50));
      const bytes = Math.max(64, Number(url.searchParams.get('bytes') ?? 200));
      // `42["message",{…},"<stream offset>"]`: the frame is about `bytes` long with the CSR offset.
      const overhead = `42["message",{"channel":"${channel}","offset":1000,"data":""},"1700000000000-0"]`
        .length;
      const data = 'x'.repeat(Math.max(0, bytes - overhead));
      const started = performance.now();
      let sent = 0;
      await new Promise<void>((resolve) => {
        const turn = (): void => {
          const end = Math.min(count, sent + batch);
          for (; sent < end; sent++) {
            io.to(`channel:${channel}`).emit('message', { channel, offset: sent + 1, data });
          }
          if (sent < count) setImmediate(turn);
          else resolve();
        };
        setImmediate(turn);
      });
      return json(res, 200, { published: sent, ms: performance.now() - started });
    }
    if (url.pathname === '/shutdown' && req.method === 'POST') {
      // Only this run's keys: the stream and the sessions stored under this run's prefix.
      let removed = 0;
      try {
        removed += await redis.del(streamName);
        for await (const keys of redis.scanIterator({ MATCH: `${sessionKeyPrefix}*`, COUNT: 1000 })) {
          const list = (Array.isArray(keys) ? keys : [keys]) as string[];
          if (list.length) removed += await redis.del(list);
        }
      } finally {
        json(res, 200, { removed });
        setTimeout(() => process.exit(0), 50);
      }
      return;
    }
    json(res, 404, { error: 'not found' });
  }

  http.listen(port, '127.0.0.1', () => {
    const address = http.address();
    process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
  });
}

process.on('SIGTERM', () => process.exit(0));
main().catch((err: unknown) => {
  process.stderr.write(
    `socketio-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
