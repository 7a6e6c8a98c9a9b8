/**
 * Client process for the benchmarks: holds up to ~19,000 WebSocket clients (one process may open at
 * most 20,000 files here) so the orchestrator never shares their event loop. Driven over IPC.
 */
import { epoch, WsPool, type PoolConnectOptions } from '../lib/ws-pool';
import type { WorkerRequest, WorkerReply, WorkerStats } from '../lib/clients';
import { serveRequests } from '../lib/ipc-worker';
import { summarize } from '../lib/latency';

const pool = new WsPool();
const reply = (m: WorkerReply): void => {
  process.send?.(m);
};

const lastSeq: number[] = [];
/** Producer send → receive, in ms, of the notifications counted since the last `expect`. */
let latencies: number[] = [];
const reconnecting = new Set<number>();
const stats: WorkerStats = {
  gaps: 0,
  duplicates: 0,
  reconnected: 0,
  reconnectAttemptsFailed: 0,
  lastReadyAt: 0,
  behind: 0,
};
let stopping = false;

serveRequests(handle);

/** Pusher protocol 7: subscribe once the connection is established; ready when the subscription succeeded. */
function pusherHandshake(
  frame: { event?: string },
  payload: string,
  send: (text: string) => void,
  channel: string,
): boolean {
  if (frame.event === 'pusher:connection_established') {
    send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
    return false;
  }
  if (frame.event === 'pusher_internal:subscription_succeeded') return true;
  if (frame.event === 'pusher:error' || frame.event === 'pusher:subscription_error')
    throw new Error(`server refused: ${payload}`);
  return false;
}

async function handle(req: WorkerRequest): Promise<void> {
  if (req.cmd === 'open') {
    const base = pool.conns.length;
    const opts: PoolConnectOptions = {
      port: req.port,
      count: req.paths.length,
      path: (i) => req.paths[i],
      sourceFirst: req.sourceFirst,
      sourceSpread: req.sourceSpread,
      concurrency: req.concurrency,
      timeoutMs: req.timeoutMs,
      onCapture: (index, payload, send) => {
        const frame = JSON.parse(payload) as { type?: string; event?: string };
        if (req.pusherSubscribe !== undefined)
          return pusherHandshake(frame, payload, send, req.pusherSubscribe);
        if (frame.type === 'ready') {
          if (reconnecting.delete(index)) {
            stats.reconnected++;
            stats.lastReadyAt = epoch(performance.now());
          }
          if (!req.subscribe) return true;
          send(JSON.stringify({ type: 'subscribe', channel: req.subscribe }));
          return false;
        }
        if (frame.type === 'subscribed') return true;
        if (frame.type === 'error') throw new Error(`server error frame: ${payload}`);
        return false;
      },
      onFrame:
        req.track || req.ack || req.latency
          ? (index, payload, send) => {
              const frame = JSON.parse(payload) as { type?: string; seq?: number; data?: { t?: number } };
              // Only notifications count: a draining node's `reconnect` frame is not progress.
              if (frame.type !== 'notification' || typeof frame.seq !== 'number') return false;
              if (req.latency && typeof frame.data?.t === 'number')
                latencies.push(epoch(performance.now()) - frame.data.t);
              if (req.ack) send(`{"type":"ack","seq":${frame.seq}}`);
              const last = lastSeq[index] ?? 0;
              if (frame.seq === last + 1) lastSeq[index] = frame.seq;
              else if (frame.seq <= last) stats.duplicates++;
              else {
                stats.gaps++;
                lastSeq[index] = frame.seq;
              }
            }
          : undefined,
      onClosed: req.reconnectPorts?.length
        ? (index) => {
            if (stopping) return;
            reconnecting.add(index);
            const ports = req.reconnectPorts!;
            const deadline = Date.now() + req.timeoutMs;
            const attempt = (n: number): void => {
              if (stopping || Date.now() > deadline) return;
              const path = `${req.paths[index - base]}&since=${lastSeq[index] ?? 0}`;
              pool.reopen(opts, index, path, ports[(index + n) % ports.length], 10_000).catch(() => {
                stats.reconnectAttemptsFailed++;
                setTimeout(() => attempt(n + 1), 200 + Math.random() * 300);
              });
            };
            setTimeout(() => attempt(0), Math.random() * (req.reconnectJitterMs ?? 0));
          }
        : undefined,
    };
    const { ms } = await pool.open(opts);
    reply({ id: req.id, type: 'opened', ms, open: pool.status().open });
  } else if (req.cmd === 'expect') {
    stats.reconnected = 0;
    stats.lastReadyAt = 0;
    latencies = [];
    const done = pool.expect(req.expected, req.timeoutMs);
    reply({ id: req.id, type: 'armed' });
    let { reached } = await done;
    // With reconnects, also wait (bounded by the same timeout) until every socket is back.
    const until = Date.now() + req.timeoutMs;
    while (
      reached &&
      req.expectReconnected &&
      stats.reconnected < req.expectReconnected &&
      Date.now() < until
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (req.expectReconnected && stats.reconnected < req.expectReconnected) reached = false;
    stats.behind = 0;
    if (req.expectSeq !== undefined)
      for (let i = 0; i < pool.conns.length; i++) if ((lastSeq[i] ?? 0) < req.expectSeq) stats.behind++;
    reply({
      id: req.id,
      type: 'result',
      reached,
      ...pool.counts(),
      extra: { ...stats },
      latency: latencies.length ? summarize(latencies) : undefined,
    });
  } else if (req.cmd === 'status') {
    reply({
      id: req.id,
      type: 'status',
      ...pool.status(),
    });
  } else if (req.cmd === 'close') {
    stopping = true;
    await pool.close();
    reply({ id: req.id, type: 'closed' });
  }
}
