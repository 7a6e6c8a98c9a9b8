import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePort, TEST_JWT_SECRET } from '@notify/testing';
import { settledRss, sleep, type BaselineServer } from '../lib/proc';
import { SETTLE_MS } from '../lib/gateway-compaction';
import type { Figure } from '../lib/results';
import { SioClientWorker, type SioResult } from '../lib/sio-clients';
import { ensureRedis, postToPeer, startSocketIoPeer } from '../lib/socketio-peer';
import { now, tokens, track, type RunContext } from './common';
import { storedPeerFigures } from './w5-stored-peer';

const WORKLOAD = 'W5 vs Socket.IO';
const CHANNEL = 'public.bench';
const THROUGHPUT_TARGET = 5;
const MEMORY_TARGET = 1 / 3;
/**
 * Client source addresses 127.0.0.50 and up: not those of the workloads before (127.0.0.2 and up), whose
 * many sockets in TIME_WAIT make each bind to a source address search longer for a free port.
 */
const SOURCE_FIRST = 50;

const n = (v: number): string => Math.round(v).toLocaleString('en-US');
const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

/** Installed version of a package (its package.json above its entry point; not every one exports it). */
function version(pkg: string): string {
  try {
    for (let dir = dirname(require.resolve(pkg)); dir !== dirname(dir); dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const meta = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (meta.name === pkg) return meta.version ?? '?';
    }
  } catch {
    // not resolvable from here
  }
  return '?';
}

function redisServerVersion(): string {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
  return /v=(\S+)/.exec(out)?.[1] ?? '?';
}

async function stats(port: number): Promise<{ connections: number; acked: number; subscribed: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/stats`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as { connections: number; acked: number; subscribed: number };
}

interface MemorySample {
  connections: number;
  rssBytes: number;
  perConnectionBytes: number;
}

interface TargetedRun extends SioResult {
  t0: number;
  sent: number;
  posts: number;
  window: number;
  batch: number;
  serverAcked: number;
  rate: number;
  sendStoppedEarly: boolean;
}

interface FanoutRun extends SioResult {
  t0: number;
  publishMs: number;
  subscribeMs: number;
  rate: number;
}

/**
 * Workload 5: Socket.IO, the idiomatic way (Redis Streams adapter, connection state recovery on), in
 * the shapes of W1 (targeted notifications with client acks), W2 (fan-out to one room) and W3 (RSS per
 * idle authenticated connection), measured in this run and compared with notify's W1–W3 figures of the
 * same run (run.ts runs W5 last and adds W1–W3 when they are not selected).
 */
export async function workload5(ctx: RunContext): Promise<Figure[]> {
  const quick = ctx.quick;
  const N = quick ? 2_000 : 10_000;
  const sizes = quick ? [N] : [N, 19_000];
  const M1 = quick ? 20_000 : 50_000;
  const M2 = quick ? 100 : 300;
  const sendForMs = quick ? 12_000 : 30_000;
  const connectTimeout = quick ? 60_000 : 120_000;
  const deliverTimeout = quick ? 30_000 : 60_000;

  const redisState = await ensureRedis(ctx.log);
  const streamName = `notify-bench-w5-${process.pid}-${Date.now()}`;
  const port = await freePort();
  ctx.log(`w5 Socket.IO peer on :${port} (Redis stream ${streamName}, redis ${redisState})`);
  const server: BaselineServer = await track(
    ctx,
    await startSocketIoPeer(port, { streamName, jwtSecret: TEST_JWT_SECRET }),
  );
  const failures: string[] = [];
  let memory: { idleRss: number; samples: MemorySample[]; connectMs: number };
  let targeted: TargetedRun | undefined;
  let fanout: FanoutRun | undefined;
  try {
    const clients = await track(ctx, new SioClientWorker('w5-clients'));
    try {
      // (c) W3 shape: RSS with 0, then with N idle authenticated connections (and 19,000 in the full run).
      await sleep(2000);
      const idleRss = await settledRss(server.pid);
      const samples: MemorySample[] = [];
      const toks = await tokens('w5', N);
      const opened = await clients.open({
        port,
        tokens: toks,
        ack: true,
        sourceFirst: SOURCE_FIRST,
        sourceSpread: 4,
        concurrency: 100,
        timeoutMs: connectTimeout,
      });
      ctx.log(`  ${opened.open} Socket.IO clients connected in ${Math.round(opened.ms)} ms`);
      const sample = async (size: number, workers: SioClientWorker[]): Promise<void> => {
        await sleep(SETTLE_MS);
        const rssBytes = await settledRss(server.pid, 5, 400);
        let open = 0;
        for (const w of workers) open += (await w.status()).open;
        const serverSide = (await stats(port)).connections;
        if (open !== size || serverSide !== size)
          throw new Error(
            `w5: ${open} client sockets and ${serverSide} server connections open, ${size} expected`,
          );
        samples.push({ connections: size, rssBytes, perConnectionBytes: (rssBytes - idleRss) / size });
        ctx.log(
          `  Socket.IO @${size}: RSS ${mib(rssBytes)} MiB, ${((rssBytes - idleRss) / size).toFixed(0)} B/connection`,
        );
      };
      await sample(N, [clients]);
      if (sizes.length > 1) {
        const extra = await track(ctx, new SioClientWorker('w5-clients-extra'));
        try {
          const more = sizes[1] - N;
          const o = await extra.open({
            port,
            tokens: await tokens('w5x', more),
            ack: false,
            sourceFirst: SOURCE_FIRST + 4,
            sourceSpread: 4,
            concurrency: 100,
            timeoutMs: connectTimeout,
          });
          ctx.log(`  +${more} connected in ${Math.round(o.ms)} ms`);
          await sample(sizes[1], [clients, extra]);
        } finally {
          await extra.stop();
        }
      }
      memory = { idleRss, samples, connectMs: opened.ms };

      // (a) W1 shape: M1 targeted notifications, round robin over the N users, each acked by its client;
      // closed loop: at most `window` notifications emitted and not yet acked (the server counts acks).
      // A warm-up round of N (one per user, not measured) first, so that JIT and heap growth are not in it.
      try {
        const window = N;
        const batch = quick ? 100 : 250;
        const posters = 4;
        const body = 'y'.repeat(120);
        const drive = async (
          total: number,
          first: number,
          stopAt: number,
        ): Promise<{ sent: number; posts: number }> => {
          const before = (await stats(port)).acked;
          let sent = 0;
          let acked = 0;
          let posts = 0;
          const poster = async (): Promise<void> => {
            while (sent < total && Date.now() < stopAt) {
              if (sent - acked >= window) {
                await sleep(2);
                acked = Math.max(acked, (await stats(port)).acked - before);
                continue;
              }
              const from = sent;
              const count = Math.min(batch, total - sent);
              sent += count;
              const createdAt = new Date().toISOString();
              const items = Array.from({ length: count }, (_, k) => ({
                userId: `w5-${(from + k) % N}`,
                notification: {
                  id: `n${first + from + k}`,
                  topic: 'bench',
                  title: 'Benchmark',
                  body,
                  createdAt,
                },
              }));
              acked = Math.max(acked, (await postToPeer(port, items)).acked - before);
              posts++;
            }
          };
          await Promise.all(Array.from({ length: posters }, poster));
          return { sent, posts };
        };
        const warm = await clients.expect(N, deliverTimeout);
        await drive(N, 0, Date.now() + deliverTimeout);
        const warmed = await warm.result;
        if (!warmed.reached) throw new Error(`warm-up: ${warmed.frames} of ${N} delivered`);
        await sleep(1000);

        ctx.log(
          `w5 W1 shape: ${M1} notifications to ${N} users, ≤ ${window} unacked, POST batches of ${batch}`,
        );
        const ackedBefore = (await stats(port)).acked;
        const { result } = await clients.expect(M1, sendForMs + deliverTimeout);
        const t0 = now();
        const { sent, posts } = await drive(M1, N, Date.now() + sendForMs);
        const r = await result;
        const serverAcked = (await stats(port)).acked - ackedBefore;
        const rate = r.frames / ((r.lastFrameAt - t0) / 1000);
        targeted = {
          ...r,
          t0,
          sent,
          posts,
          window,
          batch,
          serverAcked,
          rate,
          sendStoppedEarly: sent < M1,
        };
        ctx.log(
          `  Socket.IO ${n(rate)} delivered/s (${r.frames}/${M1}, reached=${r.reached}, acks at server ${serverAcked})`,
        );
      } catch (err) {
        failures.push(`W1 shape failed: ${err instanceof Error ? err.message : String(err)}`);
        ctx.log(`  ${failures[failures.length - 1]}`);
      }

      // (b) W2 shape: the same N clients subscribe to one channel (room); M2 messages of ~200 bytes emitted
      // from inside the server process, 50 per event-loop turn.
      try {
        const sub = await clients.subscribe(CHANNEL, false, connectTimeout);
        if (sub.refused) throw new Error(`${sub.refused} subscriptions refused`);
        ctx.log(`w5 W2 shape: ${sub.subscribed} subscribed in ${Math.round(sub.ms)} ms; ${M2} messages`);
        const { result } = await clients.expect(N * M2, deliverTimeout);
        const t0 = now();
        const pub = (await (
          await fetch(`http://127.0.0.1:${port}/publish?channel=${CHANNEL}&count=${M2}&batch=50&bytes=200`, {
            signal: AbortSignal.timeout(deliverTimeout),
          })
        ).json()) as { published: number; ms: number };
        const r = await result;
        const rate = r.frames / ((r.lastFrameAt - t0) / 1000);
        fanout = { ...r, t0, publishMs: pub.ms, subscribeMs: sub.ms, rate };
        ctx.log(`  Socket.IO ${n(rate)} deliveries/s (${r.frames}/${N * M2}, reached=${r.reached})`);
      } catch (err) {
        failures.push(`W2 shape failed: ${err instanceof Error ? err.message : String(err)}`);
        ctx.log(`  ${failures[failures.length - 1]}`);
      }
    } finally {
      await clients.stop();
    }
  } finally {
    await server.stop();
  }

  const peer = `Socket.IO ${version('socket.io')}`;
  const baselineName = `${peer} + Redis Streams adapter, CSR on`;
  const method = [
    `Peer: ${peer} (engine.io ${version('engine.io')}, ws transport) in its own process, \`adapter: createAdapter(redis, { streamName })\` from @socket.io/redis-streams-adapter ${version('@socket.io/redis-streams-adapter')} on node-redis ${version('redis')} (Redis ${redisServerVersion()} on 127.0.0.1:6379 without persistence, ${redisState === 'started' ? 'started by this run' : 'already running'}; a stream name unique to the run, deleted at the end), \`connectionStateRecovery\` on (2 min, skipMiddlewares). The classic @socket.io/redis-adapter (Redis Pub/Sub) does not support connection state recovery; the Redis Streams adapter does, so "Redis adapter + connection state recovery on" both hold only with it. With recovery on, each emit is first XADDed to the Redis stream (the packet carries its offset) and only then written to the local sockets.`,
    `Socket.IO auth: an \`io.use\` middleware verifies the HS256 JWT sent in the CONNECT packet with notify's own verifier (@notify/auth, same secret and claims as the gateway), then \`socket.join('user:' + sub)\`; \`subscribe\` joins a channel room and answers through the ack callback; clients send \`ack\` events.`,
    `Socket.IO clients: the Engine.IO 4 / Socket.IO 4 protocol spoken as raw WebSocket frames on node:net (bench/lib/ws-pool; \`GET /socket.io/?EIO=4&transport=websocket\`, \`40{"token":…}\`), no socket.io-client; one separate process, source addresses 127.0.0.${SOURCE_FIRST} and up (not those of the workloads before, whose sockets in TIME_WAIT slow binds down); Engine.IO pings are answered and not counted.`,
  ];
  const shared =
    'The load generator (client process and producer) shares the 2 cores with the Socket.IO server and Redis, as it does with ingest, gateway, RabbitMQ and PostgreSQL for the notify figure: same-machine figures, not the capacity of a dedicated server.';
  const find = (id: string): Figure | undefined => ctx.figures.find((f) => f.id === id);
  /** notify's faster producer path of this run (HTTP or AMQP) first, then the other one if measured. */
  const fastest = (ids: string[]): Figure[] =>
    ids
      .map(find)
      .filter((x): x is Figure => !!x && Number.isFinite(x.system))
      .sort((a, b) => b.system - a.system);
  const missing = (what: string): string =>
    `notify's ${what} figure is missing from this run (its workload failed or was skipped): the comparison could not be made; the Socket.IO measurement stands alone (ratio n/a, target not met).`;
  const figures: Figure[] = [];

  // W1 shape.
  if (targeted) {
    const t = targeted;
    const [notify, other] = fastest(['w1-http', 'w1-amqp']);
    const ratio = notify ? notify.system / t.rate : NaN;
    const notes = [
      `Socket.IO: ${N.toLocaleString('en-US')} connected clients (one user each); ${M1.toLocaleString('en-US')} notifications of ~200 bytes round robin over them, POSTed by an external producer (this process) to an HTTP endpoint on the Socket.IO server in batches of ${t.batch}, 4 requests in flight, each item emitted with \`io.to('user:' + id).emit('notification', n)\` (@socket.io/redis-streams-emitter, the emitter for this adapter, is not on npm); every client answers each notification with an \`ack\` event; closed loop: at most ${t.window.toLocaleString('en-US')} emitted and not yet acked at the server; measured after a warm-up round of one notification per user.`,
      `Socket.IO result: ${t.frames.toLocaleString('en-US')} of ${M1.toLocaleString('en-US')} delivered (reached=${t.reached}), smallest count on one socket ${t.minPerSocket}, ${t.acksSent.toLocaleString('en-US')} acks sent, ${t.serverAcked.toLocaleString('en-US')} counted by the server, ${t.closedAfterReady} sockets closed; mean frame ${(t.bytes / Math.max(1, t.frames)).toFixed(0)} B; ${t.posts} POSTs; rate = delivered ÷ (first POST → last frame at the clients) = ${n(t.rate)}/s.`,
      `Durability differs: Socket.IO's targeted path persists nothing (the Redis stream is in memory, trimmed to ~10,000 entries, and replays only within the 2-minute recovery window of a disconnected socket); notify stores each notification in PostgreSQL with its per-user seq before delivering it.`,
      notify
        ? `notify: the faster of its two W1 figures of this run, '${notify.id}' (${notify.metric}): ${n(notify.system)} ${notify.unit}, each notification stored in PostgreSQL before it is routed through RabbitMQ to the gateway.${other ? ` The other: '${other.id}' ${n(other.system)} ${other.unit} (ratio ${(other.system / t.rate).toFixed(2)}×).` : ''} Socket.IO has no AMQP producer path; its external producer here is HTTP.`
        : missing('W1 (w1-http / w1-amqp)'),
      ...method,
      shared,
    ];
    if (!t.reached || t.sendStoppedEarly)
      notes.push(
        `INCOMPLETE: ${t.sent.toLocaleString('en-US')} sent within ${sendForMs / 1000} s, ${t.frames.toLocaleString('en-US')} delivered; the rate is computed from what arrived.`,
      );
    figures.push({
      id: 'w5-w1',
      workload: WORKLOAD,
      metric: `W1 shape: delivered/s, N=${N.toLocaleString('en-US')} acking clients`,
      unit: 'delivered/s',
      system: notify?.system ?? NaN,
      baselineName,
      baseline: t.rate,
      ratio,
      target: { text: `≥ ${THROUGHPUT_TARGET}×`, met: ratio >= THROUGHPUT_TARGET },
      notes,
      raw: { N, M: M1, socketio: t, notifyFigure: notify?.id ?? null },
    });
  }

  // W2 shape.
  if (fanout) {
    const f = fanout;
    const candidates = fastest(['w2-http', 'w2-amqp']);
    const notify = candidates[0];
    const ratio = notify ? notify.system / f.rate : NaN;
    const notes = [
      `Socket.IO: the same ${N.toLocaleString('en-US')} clients each sent \`subscribe\` for ${CHANNEL} and got the ack (joined room \`channel:${CHANNEL}\`, ${Math.round(f.subscribeMs)} ms for all); ${M2} messages of ~200 bytes emitted with \`io.to('channel:${CHANNEL}').emit('message', m)\` from inside the server process, 50 per event-loop turn (Socket.IO's ceiling: no producer path at all); ${f.frames.toLocaleString('en-US')} of ${(N * M2).toLocaleString('en-US')} delivered (reached=${f.reached}), smallest count on one socket ${f.minPerSocket}, ${f.closedAfterReady} sockets closed; mean frame ${(f.bytes / Math.max(1, f.frames)).toFixed(0)} B; the emit calls returned after ${Math.round(f.publishMs)} ms (each broadcast then waits for its XADD before it is written to the sockets); rate = deliveries ÷ (publish request → last frame at the clients). Clients count frame headers only.`,
      notify
        ? `notify: the faster of its two W2 figures of this run, '${notify.id}' (${notify.metric}): ${n(notify.system)} ${notify.unit}; every message goes through ingest, PostgreSQL and RabbitMQ before the gateway fans it out.${candidates.length > 1 ? ` The other: '${candidates[1].id}' ${n(candidates[1].system)} ${candidates[1].unit} (ratio ${(candidates[1].system / f.rate).toFixed(2)}×).` : ''}`
        : missing('W2 (w2-http / w2-amqp)'),
      ...method,
      `${shared} One client process receives every frame on both sides.`,
    ];
    if (!f.reached)
      notes.push('INCOMPLETE: not every delivery arrived in time; the rate is computed from what arrived.');
    figures.push({
      id: 'w5-w2',
      workload: WORKLOAD,
      metric: `W2 shape: deliveries/s, N=${N.toLocaleString('en-US')} in one room`,
      unit: 'deliveries/s',
      system: notify?.system ?? NaN,
      baselineName,
      baseline: f.rate,
      ratio,
      target: { text: `≥ ${THROUGHPUT_TARGET}×`, met: ratio >= THROUGHPUT_TARGET },
      notes,
      raw: { N, M: M2, socketio: f, notifyFigure: notify?.id ?? null },
    });
  }

  // W3 shape.
  memory.samples.forEach((s, i) => {
    const notify = find(`w3-${s.connections}`);
    const ratio = notify ? notify.system / s.perConnectionBytes : NaN;
    figures.push({
      id: `w5-w3-${s.connections}`,
      workload: WORKLOAD,
      metric: `W3 shape: RSS per idle connection, N=${s.connections.toLocaleString('en-US')}`,
      unit: 'B/conn',
      system: notify?.system ?? NaN,
      baselineName,
      baseline: s.perConnectionBytes,
      ratio,
      target: { text: '≤ 0.33×', met: ratio <= MEMORY_TARGET },
      notes: [
        `Socket.IO server: RSS ${mib(memory.idleRss)} MiB with 0 connections, ${mib(s.rssBytes)} MiB with ${s.connections.toLocaleString('en-US')} idle authenticated connections (JWT verified in the middleware, joined \`user:<sub>\`, recovery session id assigned, no channel); ${i === 0 ? `connecting them took ${Math.round(memory.connectMs)} ms` : `the last ${(s.connections - memory.samples[0].connections).toLocaleString('en-US')} from a second client process`}.`,
        notify
          ? `notify: figure '${notify.id}' of this run (gateway, same method): ${n(notify.system)} B/conn.`
          : missing(`W3 (w3-${s.connections})`),
        `Per connection = (RSS with N − RSS with 0) ÷ N; RSS is the median of 5 samples taken ${SETTLE_MS / 1000} s after the last connection was ready (about as late as the gateway's sample in W3, 3 s after its compaction).`,
        ...method,
        'Clients in separate processes (≤ 19,000 each); they share the 2 cores with the server and Redis.',
      ],
      raw: {
        size: s.connections,
        socketio: { idleRss: memory.idleRss, ...s },
        notifyFigure: notify?.id ?? null,
      },
    });
  });

  // The peer a team builds when notifications must survive, and the plain one again, with W1's method.
  try {
    figures.push(...(await storedPeerFigures(ctx, SOURCE_FIRST + 10)));
  } catch (err) {
    failures.push(`stored-peer comparison failed: ${err instanceof Error ? err.message : String(err)}`);
    ctx.log(`  ${failures[failures.length - 1]}`);
  }

  if (failures.length && figures.length)
    for (const f of figures) f.notes.push(`In the same W5 run: ${failures.join('; ')}`);
  if (!figures.length) throw new Error(failures.join('; ') || 'w5: nothing measured');
  return figures;
}
