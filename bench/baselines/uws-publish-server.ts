/**
 * Baseline for workloads 2 and 3: a bare uWebSockets.js server, the same native module and the same
 * socket limits as the gateway's defaults (1 MiB maxBackpressure with closeOnBackpressureLimit,
 * 120 s idle timeout with automatic pings), and nothing else: no auth, no broker, no store.
 * Every socket is subscribed to one topic at open and told `{"type":"ready"}`.
 * `GET /publish?count=M&batch=B&bytes=200` publishes M messages of about `bytes` bytes to the topic,
 * B per event-loop turn, and answers once the last one was handed to uWS.
 * `GET /stats` answers `{connections, closed}`. Run: `PORT=<port> node dist/bench/baselines/uws-publish-server.js`.
 */
import type * as Uws from 'uWebSockets.js';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const uws = require('uWebSockets.js') as typeof Uws;

const port = Number(process.env.PORT ?? 0);
const TOPIC = 'bench';
const SUBSCRIBE = process.env.BENCH_SUBSCRIBE !== '0';
let connections = 0;
let closed = 0;

const app = uws.App();
app.ws('/*', {
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 1024 * 1024,
  closeOnBackpressureLimit: 1,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  open: (ws) => {
    connections++;
    if (SUBSCRIBE) ws.subscribe(TOPIC);
    ws.send('{"type":"ready"}', false);
  },
  close: () => {
    connections--;
    closed++;
  },
});
app.get('/stats', (res) => {
  res.writeHeader('content-type', 'application/json').end(JSON.stringify({ connections, closed }));
});
app.get('/publish', (res, req) => {
  const q = new URLSearchParams(req.getQuery() ?? '');
  const count = Math.min(Number(q.get('count') ?? 100), 10_000_000);
  const batch = Math.max(1, Number(q.get('batch') ?? 50));
  const bytes = Math.max(64, Number(q.get('bytes') ?? 200));
  let aborted = false;
  res.onAborted(() => (aborted = true));
  const started = performance.now();
  let sent = 0;
  const turn = (): void => {
    const end = Math.min(count, sent + batch);
    for (; sent < end; sent++) {
      const head = `{"type":"message","channel":"public.bench","offset":${sent + 1},"data":"`;
      const frame = head + 'x'.repeat(Math.max(0, bytes - head.length - 2)) + '"}';
      app.publish(TOPIC, frame, false);
    }
    if (sent < count) setImmediate(turn);
    else if (!aborted) {
      const ms = performance.now() - started;
      res.cork(() =>
        res.writeHeader('content-type', 'application/json').end(JSON.stringify({ published: sent, ms })),
      );
    }
  };
  setImmediate(turn);
});
app.listen('127.0.0.1', port, (token) => {
  if (!token) {
    process.stderr.write(`uws-publish-server: cannot listen on ${port}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
