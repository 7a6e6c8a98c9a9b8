import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { signToken, type TestCluster } from '@notify/testing';
import { ClientWorker } from '../lib/clients';
import { measureLatencyFloor } from '../lib/latency-floor';
import { now } from '../lib/proc';
import type { Figure } from '../lib/results';
import { benchCluster, gatewayPort, tokens, track, type RunContext } from './common';

const CHANNEL = 'presence.bench';
const PLAIN = 'bench.plain';
/** Join → frame samples per size, one at a time, each after the channel's frame window has passed. */
const SAMPLES = 60;
const GAP_MS = 70;
/** Clients that join and leave in a loop on one node, and for how long. */
const CHURNERS = 20;

type Frame = {
  type: string;
  channel?: string;
  userId?: string;
  event?: string;
  changes?: { userId?: string; event?: string }[];
};

/** How long any one answer may take before the workload fails (every wait is bounded). */
const ANSWER_MS = 20_000;

/**
 * A raw client: frames are parsed and handed to `onFrame`; `request` sends and waits for a frame
 * type, failing on an `error` frame, a close or a timeout.
 */
class Raw {
  onFrame: (f: Frame) => void = () => undefined;
  private waiting: { type: string; resolve: () => void; reject: (err: Error) => void } | null = null;
  private constructor(
    readonly ws: WebSocket,
    readonly user: string,
  ) {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Frame;
      if (f.type === 'error') return this.fail(new Error(`w8: ${user} got ${data.toString()}`));
      if (this.waiting?.type === f.type) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve();
      }
      this.onFrame(f);
    });
    ws.on('close', (code) => this.fail(new Error(`w8: ${user} closed (${code})`)));
    ws.on('error', (err) => this.fail(err));
  }
  private fail(err: Error): void {
    const w = this.waiting;
    this.waiting = null;
    w?.reject(err);
  }
  static async open(port: number, user: string): Promise<Raw> {
    const token = await signToken(user, { channels: ['presence.*', 'bench.*'] });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws?device=bench&token=${token}`);
    const c = new Raw(ws, user);
    await c.until('ready', () => undefined);
    return c;
  }
  until(type: string, send: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new Error(`w8: ${this.user}: no ${type} within ${ANSWER_MS} ms`)),
        ANSWER_MS,
      );
      this.waiting = {
        type,
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (err) => (clearTimeout(timer), reject(err)),
      };
      send();
    });
  }
  request(frame: object, reply: string): Promise<void> {
    return this.until(reply, () => this.ws.send(JSON.stringify(frame)));
  }
  close(): void {
    this.ws.removeAllListeners('close');
    this.ws.close();
  }
}

/** Resolves with `p`, or fails after `ms`. */
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`w8: ${what} not within ${ms} ms`)), ms)),
  ]);

/** CPU time (user + system) a process has used, ms, from /proc (Linux; 0 where unreadable). */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** CPU used by each process while `work` runs, as a share of one core. */
async function cpuShares<T>(
  pids: Record<string, number | undefined>,
  work: () => Promise<T>,
): Promise<{ result: T; shares: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const self = process.cpuUsage();
  const started = now();
  const result = await work();
  const elapsed = now() - started;
  const shares: Record<string, number> = {};
  for (const [k, pid] of Object.entries(pids)) shares[k] = (cpuMs(pid) - before[k]) / elapsed;
  const used = process.cpuUsage(self);
  shares['orchestrator (churners)'] = (used.user + used.system) / 1000 / elapsed;
  return { result, shares };
}

const formatShares = (shares: Record<string, number>): string =>
  Object.entries(shares)
    .map(([k, v]) => `${k} ${(v * 100).toFixed(0)} %`)
    .join(', ');

const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

/** Join → frame on the other nodes: a joiner on gateway 0, observers on gateways 1 and 2. */
async function joinLatency(cluster: TestCluster): Promise<{ p50: number; p99: number; max: number }> {
  const observers = await Promise.all(
    [1, 2].map((g) => Raw.open(gatewayPort(cluster, g), `w8-observer-${g}`)),
  );
  for (const o of observers) await o.request({ type: 'subscribe', channel: CHANNEL }, 'subscribed');
  // A member that stays on gateway 0, as on any busy channel: the joiner's node already holds it.
  const anchor = await Raw.open(gatewayPort(cluster, 0), 'w8-latency-anchor');
  await anchor.request({ type: 'subscribe', channel: CHANNEL }, 'subscribed');
  const joiner = await Raw.open(gatewayPort(cluster, 0), 'w8-joiner');
  const samples: number[] = [];
  try {
    /** Resolves when every observer has seen `event` of the joiner (any frame shape). */
    const observed = (event: 'join' | 'leave'): Promise<number[]> =>
      Promise.all(
        observers.map(
          (o) =>
            new Promise<number>((resolve) => {
              o.onFrame = (f) => {
                if (f.type !== 'presence' || f.channel !== CHANNEL) return;
                const changes = f.changes ?? [{ event: f.event, userId: f.userId }];
                if (changes.some((c) => c.userId === 'w8-joiner' && c.event === event)) resolve(now());
              };
            }),
        ),
      );
    for (let i = 0; i < SAMPLES; i++) {
      const joined = observed('join');
      const sentAt = now();
      joiner.ws.send(JSON.stringify({ type: 'subscribe', channel: CHANNEL }));
      const arrived = await within(joined, ANSWER_MS, `join frame ${i} at both observers`);
      samples.push(Math.max(...arrived) - sentAt);
      // The leave must be announced before the next join: within one window the two would cancel.
      const left = observed('leave');
      await joiner.request({ type: 'unsubscribe', channel: CHANNEL }, 'unsubscribed');
      await within(left, ANSWER_MS, `leave frame ${i} at both observers`);
      await new Promise((r) => setTimeout(r, GAP_MS));
    }
  } finally {
    joiner.close();
    anchor.close();
    for (const o of observers) o.close();
  }
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), max: Math.max(...samples) };
}

/** Subscribe/unsubscribe cycles per second on gateway 0 by CHURNERS clients, on `channel`. */
async function churn(cluster: TestCluster, channel: string, seconds: number): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: CHURNERS }, (_, i) => Raw.open(gatewayPort(cluster, 0), `w8-churner-${i}`)),
  );
  // One member stays on the node throughout, as in a steady state: the channel is not loaded afresh.
  const anchor = await Raw.open(gatewayPort(cluster, 0), 'w8-anchor');
  await anchor.request({ type: 'subscribe', channel }, 'subscribed');
  const until = now() + seconds * 1000;
  const started = now();
  let changes = 0;
  try {
    await Promise.all(
      clients.map(async (c) => {
        while (now() < until) {
          await c.request({ type: 'subscribe', channel }, 'subscribed');
          await c.request({ type: 'unsubscribe', channel }, 'unsubscribed');
          changes += 2;
        }
      }),
    );
  } finally {
    for (const c of clients) c.close();
    anchor.close();
  }
  return changes / ((now() - started) / 1000);
}

/**
 * Workload 7: presence. Three gateways; M members (10, and 10,000: 2,000 with --quick) subscribed to
 * one presence channel on gateways 1 and 2. (a) Join → frame: a user joining on gateway 0, until both
 * other nodes' subscribers have its join frame, one join at a time; baseline: the raw floor (one
 * PostgreSQL commit, one AMQP hop, one uWS send). (b) Joins and leaves per second gateway 0 sustains
 * (20 clients subscribing and unsubscribing in a loop); baseline: the same loop on a plain channel.
 */
export async function workload8(ctx: RunContext): Promise<Figure[]> {
  const sizes = [10, ctx.quick ? 2_000 : 10_000];
  const seconds = ctx.quick ? 3 : 6;
  const figures: Figure[] = [];
  for (const members of sizes) {
    const cluster = await benchCluster(ctx, 3, {
      NOTIFY_PRESENCE_MAX_MEMBERS: '20000',
      NOTIFY_MAX_FRAMES_PER_SECOND: '100000',
    });
    try {
      const floor = await measureLatencyFloor(cluster.vhost.url, cluster.db.url, 200);
      const w = await track(ctx, new ClientWorker('w8-members'));
      try {
        const toks = await tokens('w8-member', members, ['presence.*']);
        for (const g of [1, 2]) {
          const half = toks.filter((_, i) => i % 2 === g - 1);
          const opened = await w.open({
            port: gatewayPort(cluster, g),
            paths: half.map((t) => `/v1/ws?token=${t}&device=bench`),
            subscribe: CHANNEL,
            sourceFirst: 2,
            sourceSpread: 8,
            concurrency: 100,
            timeoutMs: 240_000,
          });
          ctx.log(
            `  w8: ${opened.open} members subscribed on gateways 1..${g} in ${Math.round(opened.ms)} ms`,
          );
        }
        const latency = await joinLatency(cluster);
        ctx.log(
          `  w8 at ${members} members: join → frame on the other nodes p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms (floor ${floor.p50.toFixed(2)} ms)`,
        );
        const plain = await churn(cluster, PLAIN, seconds);
        const pids = {
          'gateway 0': cluster.gateways[0].child.pid,
          'gateway 1': cluster.gateways[1].child.pid,
          'gateway 2': cluster.gateways[2].child.pid,
          'member clients': w.pid,
        };
        const { result: presence, shares } = await cpuShares(pids, () => churn(cluster, CHANNEL, seconds));
        ctx.log(`  w8 churn CPU (share of one core): ${formatShares(shares)}`);
        ctx.log(
          `  w8 at ${members} members: ${Math.round(presence)} joins+leaves/s (plain channel ${Math.round(plain)}/s)`,
        );
        figures.push(
          latencyFigure(members, latency, floor.p50),
          churnFigure(members, presence, plain, seconds, shares),
        );
      } finally {
        await w.stop();
      }
    } finally {
      await cluster.stop();
    }
  }
  return figures;
}

const SHARED =
  'Three gateways, ingest, RabbitMQ, PostgreSQL, the member clients (one worker process) and this orchestrator share the machine’s 2 cores, which other work was using at the same time.';

function latencyFigure(members: number, l: { p50: number; p99: number; max: number }, floor: number): Figure {
  return {
    id: `w8-latency-${members}`,
    workload: 'W8 presence',
    metric: `p50 join → join frame at the other two nodes, ${members.toLocaleString('en-US')} members`,
    unit: 'ms',
    better: 'lower',
    system: l.p50,
    baselineName: 'raw floor (commit → AMQP hop → uWS send)',
    baseline: floor,
    ratio: l.p50 / floor,
    notes: [
      `A client on gateway 0 (where another member stays subscribed, so the node already holds the channel) subscribes to ${CHANNEL}; the time until subscribers on gateways 1 and 2 both have the join frame (the later of the two), ${SAMPLES} joins one at a time, ${GAP_MS} ms apart (past the 50 ms frame window, as an isolated join is). p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(2)} ms.`,
      `The ${members.toLocaleString('en-US')} members are split over gateways 1 and 2 and receive every frame too.`,
      SHARED,
    ],
    raw: { members, ...l, floor },
  };
}

function churnFigure(
  members: number,
  presence: number,
  plain: number,
  seconds: number,
  shares: Record<string, number>,
): Figure {
  return {
    id: `w8-churn-${members}`,
    workload: 'W8 presence',
    metric: `joins + leaves per second on one node, ${members.toLocaleString('en-US')} members`,
    unit: '/s',
    better: 'higher',
    system: presence,
    baselineName: 'the same subscribe/unsubscribe loop on a plain channel',
    baseline: plain,
    ratio: presence / plain,
    notes: [
      `${CHURNERS} clients on gateway 0, each subscribing and unsubscribing in a loop for ${seconds} s (each waits for its answer); every subscribe is a join and every unsubscribe a leave, group-committed to PostgreSQL and published to the two other nodes, which send frames to the ${members.toLocaleString('en-US')} members.`,
      `CPU during the presence loop, as a share of one core: ${formatShares(shares)}.`,
      SHARED,
    ],
    raw: { members, presence, plain, seconds, shares },
  };
}
