/**
 * The chaos run (issue 3): 3 gateway nodes behind HAProxy, simulated devices of many users, producers
 * over HTTP and AMQP with retries, and during the producing phase: two gateway SIGKILLs, one RabbitMQ
 * restart, one ingest SIGKILL, and random client connections cut. Afterwards it checks the delivery
 * guarantees (nothing acknowledged is lost; per connection strictly increasing seqs with no gap and no
 * duplicate; cumulative acks; redelivery of what was not acked; see docs/reliability.md) from the
 * devices' side and from the store, and returns a report.
 *
 * Everything is bounded in count and time, and all traffic stays on 127.0.0.1.
 * Used by test/chaos/chaos-small.test.ts (the small run of `npm test`) and scripts/chaos.mjs (`npm run chaos`).
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import WebSocket from 'ws';
import {
  restartPostgres,
  restartRabbitmq,
  signToken,
  startCluster,
  startHaproxy,
  TEST_API_KEY,
  type TestCluster,
  type TestHaproxy,
} from '@notify/testing';

const INGEST_EXCHANGE = 'notify.ingest';
const INVALID_QUEUE = 'notify.ingest.invalid';
const AMQP_ROUTING_KEY = 'notification.chaos.amqp';
const HTTP_TOPIC = 'chaos.http';
const ACK_INTERVAL_MS = 50;
const MAX_CONNECT_ATTEMPTS_PER_DEVICE = 400;
const MAX_CONSECUTIVE_FAILURES = 60;
const MAX_ANOMALY_SAMPLES = 25;

export interface ChaosOptions {
  users: number;
  devicesPerUser: number;
  /** Notifications produced during the chaos phase, split between HTTP and AMQP (plus one warm-up per user). */
  notifications: number;
  /** Hard bound for the whole run (set-up to final checks; clean-up comes on top, bounded separately). */
  durationMs: number;
  /** Drives every random choice (targets, victims, cut times, backoffs); the run prints it. */
  seed: number;
  /** Production rate, both producers together (the machine has 2 cores shared by everything). */
  ratePerSecond?: number;
  gateways?: number;
  /** Share of devices whose connection is cut (ws.terminate) at a random moment. Default 0.1. */
  cutFraction?: number;
  /** Progress lines (phases, chaos events) as they happen. */
  log?: (line: string) => void;
  /**
   * Self-check of the checks: `drop-frame` makes one device silently ignore one notification frame,
   * `duplicate-frame` makes one device process one frame twice. The run must then fail.
   */
  fault?: 'none' | 'drop-frame' | 'duplicate-frame';
  /**
   * Where to keep the evidence: every service process's output (debug level, killed ones too),
   * HAProxy's traffic log and the report as JSON. Nothing is written without it.
   */
  logsDir?: string;
  /**
   * Also restart the local PostgreSQL (65 %; `restartPostgres`: `pg_ctlcluster <version> main restart`
   * or NOTIFY_TEST_PG_RESTART). It disrupts every database on the server, so it is a phase to ask for.
   */
  postgresRestart?: boolean;
}

export interface ChaosEvent {
  name: 'gateway-kill' | 'rabbitmq-restart' | 'ingest-kill' | 'postgres-restart';
  target: string;
  /** Since the start of the producing phase. */
  atMs: number;
  /** How long until the killed/restarted component served again. */
  tookMs: number | null;
  /** Share of the notifications issued by producers when the event started. */
  progress: number;
  detail: string;
  error?: string;
}

export interface ChaosReport {
  seed: number;
  options: {
    users: number;
    devicesPerUser: number;
    notifications: number;
    ratePerSecond: number;
    durationMs: number;
    postgresRestart: boolean;
  };
  gateways: number;
  devices: number;
  sinceDevices: number;
  /** Distinct notifications acknowledged to producers (HTTP 202 + AMQP publisher confirms). */
  accepted: number;
  acceptedHttp: number;
  acceptedAmqp: number;
  warmup: number;
  /** Rows in `notifications` at the end. */
  stored: number;
  /** Users whose rows are not exactly seq 1..last_seq, plus 202 results (id, seq) missing from the store. */
  storeMismatches: number;
  deadLettered: number;
  /** notification frames received, all devices, all connections. */
  delivered: number;
  /** Frames of a seq the device already had from an earlier connection (devices resuming from their cursor). */
  redelivered: number;
  /** Seqs 1..last_seq of its user that a device never received. */
  lost: number;
  /** A seq ≤ the previous seq on the same connection. */
  outOfOrder: number;
  /** A seq above previous + 1 on a connection, or a connection's first seq above the resume point + 1. */
  gaps: number;
  /** A seq received twice on the same connection. */
  duplicates: number;
  /** A seq ≤ the `since` the connection asked for. */
  resumeViolations: number;
  /** A frame whose id is not the stored notification's id for that user and seq. */
  contentMismatches: number;
  errorFrames: number;
  /** Devices whose `device_cursors.acked_seq` is not their user's `user_streams.last_seq`. */
  cursorMismatches: number;
  devicesNotCaughtUp: number;
  devicesGaveUp: number;
  connections: number;
  connectFailures: number;
  /** Why connection attempts failed before `ready`: HTTP status or socket error, with counts. */
  connectFailureReasons: Record<string, number>;
  /** The devices with the most failed connection attempts, as `device ×n`. */
  mostFailingDevices: string[];
  cuts: number;
  closeCodes: Record<string, number>;
  http: { attempts: number; retries: number };
  amqp: { publishes: number; republishes: number; connections: number };
  events: ChaosEvent[];
  /** Phase durations in ms: setup, connect, warmup, producing, storeWait, catchUp, cursorWait; total. */
  phases: Record<string, number>;
  totalMs: number;
  anomalies: string[];
  errors: string[];
  /**
   * The machine during the run (Linux): kernel TCP memory in pages, at most, against the pressure
   * threshold (tcp_mem[1]); under pressure the kernel drops connections, which is no finding about
   * the services. And the highest 1-minute load average seen.
   */
  machine: { tcpMemPagesMax: number | null; tcpMemPressurePages: number | null; loadMax: number };
}

type Fault = NonNullable<ChaosOptions['fault']>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** mulberry32: small, seedable, good enough to pick victims and jitter. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}

interface Connection {
  n: number;
  since: number | null;
  /** The device's highest seq when this connection was opened. */
  highestAtOpen: number;
  openedAt: number;
  ready: boolean;
  node: string;
  prev: number | null;
  seen: Set<number>;
  /** Highest seq this connection may ack: its `since`, or the highest seq it delivered. */
  position: number;
  acked: number;
  error?: string;
}

/** What the run shares with its devices: counters, anomaly samples and the chaos timeline. */
class Simulation {
  readonly stats = {
    delivered: 0,
    redelivered: 0,
    outOfOrder: 0,
    gaps: 0,
    duplicates: 0,
    resumeViolations: 0,
    errorFrames: 0,
    connections: 0,
    connectFailures: 0,
    connectFailureReasons: {} as Record<string, number>,
    cuts: 0,
    closeCodes: {} as Record<string, number>,
  };
  readonly anomalies: string[] = [];
  readonly timers = new Set<NodeJS.Timeout>();
  readonly events: ChaosEvent[] = [];
  /** Output of service processes that were killed (their replacements' output is taken at the end). */
  readonly logs: { name: string; text: string }[] = [];
  stopping = false;
  faultDone = false;
  producingStartedAt = 0;

  constructor(
    readonly startedAt: number,
    readonly wsBase: string,
    readonly random: () => number,
    readonly fault: Fault,
  ) {}

  anomaly(device: Device, conn: Connection, what: string): void {
    if (this.anomalies.length >= MAX_ANOMALY_SAMPLES) return;
    const now = Date.now();
    const last = [...this.events].reverse().find((e) => this.producingStartedAt + e.atMs <= now);
    this.anomalies.push(
      `${fmtSeconds(now - this.startedAt)} ${device.deviceId} (user ${device.userId}) conn #${conn.n} on ${conn.node || '?'}` +
        ` since=${conn.since ?? '-'} highestAtOpen=${conn.highestAtOpen}: ${what}` +
        (last ? ` [last event: ${last.name} ${last.target} at ${fmtSeconds(last.atMs)} of producing]` : ''),
    );
  }

  later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

/**
 * One installation of a user: keeps `highestSeen` like an SDK's local storage and checks every
 * connection's stream. Half the devices resume with `since=<highestSeen>` (browser SDK style), the
 * other half without it, so the gateway resumes from the stored cursor and redelivers what was not acked.
 */
class Device {
  /** seq → notification id, the first time it was received. */
  readonly received = new Map<number, string>();
  highestSeen = 0;
  ws: WebSocket | null = null;
  conn: Connection | null = null;
  attempts = 0;
  consecutiveFailures = 0;
  /** Connection attempts that closed before `ready`. */
  failures = 0;
  gaveUp = false;

  constructor(
    readonly sim: Simulation,
    readonly userId: string,
    readonly deviceId: string,
    readonly useSince: boolean,
    private readonly token: string,
  ) {}

  get live(): boolean {
    return this.conn !== null && this.conn.ready && this.ws?.readyState === WebSocket.OPEN;
  }

  connect(): void {
    if (this.sim.stopping) return;
    this.attempts++;
    const since = this.useSince && this.highestSeen > 0 ? this.highestSeen : null;
    const query = `device=${this.deviceId}${since === null ? '' : `&since=${since}`}`;
    const ws = new WebSocket(`${this.sim.wsBase}?${query}`, {
      headers: { authorization: `Bearer ${this.token}` },
      handshakeTimeout: 5000,
      perMessageDeflate: false,
    });
    const conn: Connection = {
      n: this.attempts,
      since,
      highestAtOpen: this.highestSeen,
      openedAt: Date.now(),
      ready: false,
      node: '',
      prev: null,
      seen: new Set(),
      position: since ?? 0,
      acked: 0,
    };
    this.ws = ws;
    this.conn = conn;
    ws.on('message', (data: WebSocket.RawData) => this.frame(conn, data.toString()));
    ws.on('error', (err: Error) => (conn.error = err.message)); // the close event follows and decides
    ws.on('close', (code: number) => this.closed(conn, code));
  }

  /** Cuts the connection without a close handshake, as a network failure would. */
  cut(): boolean {
    if (!this.live || !this.ws) return false;
    this.ws.terminate();
    return true;
  }

  /** Cumulative ack of everything this connection may ack; never a seq it did not receive or ask for. */
  ack(): void {
    const conn = this.conn;
    if (!conn || !conn.ready || conn.position <= conn.acked || this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ type: 'ack', seq: conn.position }));
    conn.acked = conn.position;
  }

  close(): void {
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) this.ws.close(1000);
  }

  private frame(conn: Connection, text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.sim.stats.errorFrames++;
      this.sim.anomaly(this, conn, `unparseable frame ${text.slice(0, 80)}`);
      return;
    }
    switch (frame.type) {
      case 'ready':
        conn.ready = true;
        conn.node = String(frame.node);
        this.consecutiveFailures = 0;
        this.sim.stats.connections++;
        return;
      case 'notification': {
        const seq = Number(frame.seq);
        const id = String(frame.id);
        if (this.sim.fault === 'drop-frame' && !this.sim.faultDone && this.useSince && seq > 2) {
          this.sim.faultDone = true;
          return;
        }
        this.notification(conn, seq, id);
        if (this.sim.fault === 'duplicate-frame' && !this.sim.faultDone && seq > 2) {
          this.sim.faultDone = true;
          this.notification(conn, seq, id);
        }
        return;
      }
      case 'error':
        this.sim.stats.errorFrames++;
        this.sim.anomaly(this, conn, `error frame ${text}`);
        return;
      default:
        return; // reconnect (drain), pong, read: nothing to check here
    }
  }

  private notification(conn: Connection, seq: number, id: string): void {
    const stats = this.sim.stats;
    stats.delivered++;
    if (!conn.ready) this.sim.anomaly(this, conn, `notification ${seq} before ready`);
    if (conn.seen.has(seq)) {
      stats.duplicates++;
      this.sim.anomaly(this, conn, `duplicate seq ${seq} on the connection (previous ${conn.prev})`);
    }
    if (conn.prev !== null) {
      if (seq <= conn.prev) {
        stats.outOfOrder++;
        this.sim.anomaly(this, conn, `out of order: seq ${seq} after ${conn.prev}`);
      } else if (seq > conn.prev + 1) {
        stats.gaps++;
        this.sim.anomaly(this, conn, `gap: seq ${seq} after ${conn.prev}`);
      }
    } else {
      // First notification of the connection: right after the resume point. With `since` that is
      // exactly since + 1; from the stored cursor it is at most highestSeen + 1 (the cursor never
      // passes what the device received).
      const expectedAtMost = (conn.since ?? conn.highestAtOpen) + 1;
      if (seq > expectedAtMost) {
        stats.gaps++;
        this.sim.anomaly(this, conn, `gap: first seq ${seq}, expected at most ${expectedAtMost}`);
      }
    }
    if (conn.since !== null && seq <= conn.since) {
      stats.resumeViolations++;
      this.sim.anomaly(this, conn, `seq ${seq} not after since=${conn.since}`);
    }
    conn.seen.add(seq);
    conn.prev = seq;
    const before = this.received.get(seq);
    if (before === undefined) this.received.set(seq, id);
    else {
      if (conn.since === null) stats.redelivered++;
      if (before !== id) this.sim.anomaly(this, conn, `seq ${seq} came as id ${id}, earlier as ${before}`);
    }
    if (seq > this.highestSeen) this.highestSeen = seq;
    if (seq > conn.position) conn.position = seq;
  }

  private closed(conn: Connection, code: number): void {
    const codes = this.sim.stats.closeCodes;
    codes[code] = (codes[code] ?? 0) + 1;
    if (this.conn !== conn) return;
    this.ws = null;
    this.conn = null;
    if (this.sim.stopping) return;
    if (!conn.ready) {
      this.consecutiveFailures++;
      this.sim.stats.connectFailures++;
      const reason = conn.error?.replace(/127\.0\.0\.1:\d+/, '…') ?? `closed ${code} before ready`;
      const reasons = this.sim.stats.connectFailureReasons;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
      this.failures++;
    }
    if (
      this.attempts >= MAX_CONNECT_ATTEMPTS_PER_DEVICE ||
      this.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES
    ) {
      this.gaveUp = true;
      this.sim.anomaly(this, conn, `gave up after ${this.attempts} connections (last close ${code})`);
      return;
    }
    // 50–500 ms after a close; exponential (to 2 s) while connections keep failing before `ready`.
    const r = this.sim.random();
    const delay =
      this.consecutiveFailures === 0
        ? 50 + r * 450
        : Math.min(2000, 100 * 2 ** Math.min(this.consecutiveFailures, 5)) * (0.5 + r);
    this.sim.later(() => this.connect(), delay);
  }
}

/** Publishes with confirms to notify.ingest; reconnects after a broker restart and republishes. */
class AmqpProducer {
  publishes = 0;
  republishes = 0;
  connections = 0;
  private model: ChannelModel | null = null;
  private channel: ConfirmChannel | null = null;
  private connecting: Promise<ConfirmChannel> | null = null;

  constructor(
    private readonly url: string,
    private readonly seed: number,
    private readonly deadline: () => number,
  ) {}

  private async getChannel(): Promise<ConfirmChannel> {
    if (this.channel) return this.channel;
    this.connecting ??= (async () => {
      for (let attempt = 0; ; attempt++) {
        if (Date.now() > this.deadline()) throw new Error('amqp: deadline passed while reconnecting');
        try {
          const model = await connect(this.url);
          model.on('error', () => undefined);
          model.on('close', () => {
            if (this.model === model) {
              this.model = null;
              this.channel = null;
            }
          });
          const channel = await model.createConfirmChannel();
          channel.on('error', () => undefined);
          channel.on('close', () => {
            if (this.channel === channel) this.channel = null;
          });
          this.model = model;
          this.channel = channel;
          this.connections++;
          return channel;
        } catch {
          await sleep(Math.min(1000, 100 * 2 ** attempt));
        }
      }
    })().finally(() => (this.connecting = null));
    return this.connecting;
  }

  /** Resolves true once the broker confirmed the message (republishing with the same message-id). */
  async send(index: number, userId: string): Promise<boolean> {
    const messageId = `chaos-${this.seed}-amqp-${index}`;
    const content = Buffer.from(JSON.stringify({ userId }));
    for (let attempt = 0; Date.now() < this.deadline(); attempt++) {
      try {
        const channel = await this.getChannel();
        this.publishes++;
        if (attempt > 0) this.republishes++;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('confirm timeout')), 10_000);
          try {
            channel.publish(
              INGEST_EXCHANGE,
              AMQP_ROUTING_KEY,
              content,
              { contentType: 'application/json', deliveryMode: 2, messageId },
              (err: unknown) => {
                clearTimeout(timer);
                if (err) reject(err instanceof Error ? err : new Error(String(err)));
                else resolve();
              },
            );
          } catch (err) {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        return true;
      } catch {
        await sleep(Math.min(1000, 50 * 2 ** attempt));
      }
    }
    return false;
  }

  async close(): Promise<void> {
    this.channel = null;
    await this.model?.close().catch(() => undefined);
    this.model = null;
  }
}

/** POST /v1/notifications, retried with the same idempotencyKey until 202. */
class HttpProducer {
  attempts = 0;
  retries = 0;
  /** What 202 answered, to check against the store. */
  readonly results: { userId: string; id: string; seq: number }[] = [];

  constructor(
    private readonly ingestUrl: string,
    private readonly seed: number,
    private readonly deadline: () => number,
    private readonly onRefused: (what: string) => void,
  ) {}

  async send(key: string, userId: string): Promise<boolean> {
    const body = JSON.stringify({ userId, topic: HTTP_TOPIC, idempotencyKey: `chaos-${this.seed}-${key}` });
    for (let attempt = 0; Date.now() < this.deadline(); attempt++) {
      this.attempts++;
      if (attempt > 0) this.retries++;
      try {
        const res = await fetch(`${this.ingestUrl}/v1/notifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status === 202) {
          const parsed = JSON.parse(text) as { results: { userId: string; id: string; seq: number }[] };
          this.results.push(...parsed.results);
          return true;
        }
        if (res.status >= 400 && res.status < 500) {
          this.onRefused(`HTTP ${res.status} for ${key}: ${text.slice(0, 200)}`);
          return false;
        }
      } catch {
        // connection refused or reset (ingest killed), timeout: retry with the same key
      }
      await sleep(Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random()));
    }
    return false;
  }
}

/** Issues `count` tasks at `ratePerSecond`, at most `maxInFlight` at a time; no catch-up bursts. */
async function paced(
  count: number,
  ratePerSecond: number,
  maxInFlight: number,
  deadline: () => number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  const interval = 1000 / ratePerSecond;
  const inFlight = new Set<Promise<void>>();
  let next = Date.now();
  for (let i = 0; i < count && Date.now() < deadline(); i++) {
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    next = Math.max(next, Date.now() - interval) + interval;
    const p: Promise<void> = task(i).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const startedAt = Date.now();
  const hardDeadline = startedAt + options.durationMs;
  const remaining = (): number => hardDeadline - Date.now();
  const log = options.log ?? ((): void => undefined);
  const gatewayCount = options.gateways ?? 3;
  const ratePerSecond = options.ratePerSecond ?? 120;
  const random = rng(options.seed);
  const phases: Record<string, number> = {};
  let phaseStart = Date.now();
  const phase = (name: string): void => {
    phases[name] = Date.now() - phaseStart;
    phaseStart = Date.now();
    log(`${fmtSeconds(Date.now() - startedAt)} ${name} done (${fmtSeconds(phases[name])})`);
  };
  const errors: string[] = [];

  const userIds = Array.from({ length: options.users }, (_, i) => `chaos-u${String(i).padStart(4, '0')}`);
  const report: ChaosReport = {
    seed: options.seed,
    options: {
      users: options.users,
      devicesPerUser: options.devicesPerUser,
      notifications: options.notifications,
      ratePerSecond,
      durationMs: options.durationMs,
      postgresRestart: options.postgresRestart ?? false,
    },
    gateways: gatewayCount,
    devices: options.users * options.devicesPerUser,
    sinceDevices: 0,
    accepted: 0,
    acceptedHttp: 0,
    acceptedAmqp: 0,
    warmup: 0,
    stored: 0,
    storeMismatches: 0,
    deadLettered: 0,
    delivered: 0,
    redelivered: 0,
    lost: 0,
    outOfOrder: 0,
    gaps: 0,
    duplicates: 0,
    resumeViolations: 0,
    contentMismatches: 0,
    errorFrames: 0,
    cursorMismatches: 0,
    devicesNotCaughtUp: 0,
    devicesGaveUp: 0,
    connections: 0,
    connectFailures: 0,
    connectFailureReasons: {},
    mostFailingDevices: [],
    cuts: 0,
    closeCodes: {},
    http: { attempts: 0, retries: 0 },
    amqp: { publishes: 0, republishes: 0, connections: 0 },
    events: [],
    phases,
    totalMs: 0,
    anomalies: [],
    errors,
    machine: { tcpMemPagesMax: null, tcpMemPressurePages: tcpMemPressurePages(), loadMax: loadavg()[0] },
  };
  const sampler = setInterval(() => {
    const pages = tcpMemPages();
    if (pages !== null) report.machine.tcpMemPagesMax = Math.max(report.machine.tcpMemPagesMax ?? 0, pages);
    report.machine.loadMax = Math.max(report.machine.loadMax, loadavg()[0]);
  }, 500);

  let cluster: TestCluster | undefined;
  let haproxy: TestHaproxy | undefined;
  let amqp: AmqpProducer | undefined;
  let sim: Simulation | undefined;
  const devices: Device[] = [];
  try {
    // --- set-up: cluster of ingest + 3 gateways (own vhost and database), HAProxy in front
    log(
      `chaos run, seed ${options.seed}: ${options.users} users × ${options.devicesPerUser} devices, ${options.notifications} notifications`,
    );
    cluster = await startCluster({
      gateways: gatewayCount,
      env: options.logsDir ? { NOTIFY_LOG_LEVEL: 'debug' } : {},
    });
    haproxy = await startHaproxy(
      Array.from({ length: gatewayCount }, (_, i) => cluster!.gateways[i].port),
      { trafficLog: options.logsDir !== undefined },
    );
    await haproxy.waitAllUp(Math.min(15_000, remaining()));
    phase('setup');

    // --- devices connect (before anything is produced, so every device's stream starts at seq 1)
    sim = new Simulation(startedAt, `ws://127.0.0.1:${haproxy.port}/v1/ws`, random, options.fault ?? 'none');
    const s = sim;
    const tokens = await Promise.all(userIds.map((u) => signToken(u, { expiresInSeconds: 3 * 3600 })));
    userIds.forEach((userId, u) => {
      for (let d = 0; d < options.devicesPerUser; d++) {
        devices.push(
          new Device(s, userId, `${userId}-d${d}`, (u * options.devicesPerUser + d) % 2 === 0, tokens[u]),
        );
      }
    });
    report.sinceDevices = devices.filter((d) => d.useSince).length;
    const ackTimer = setInterval(() => devices.forEach((d) => d.ack()), ACK_INTERVAL_MS);
    try {
      devices.forEach((d, i) => sim!.later(() => d.connect(), (i * 5) % 1000));
      if (!(await until(() => devices.every((d) => d.live), Math.min(30_000, remaining())))) {
        throw new Error(
          `only ${devices.filter((d) => d.live).length} of ${devices.length} devices connected`,
        );
      }
      phase('connect');

      // --- warm-up: one notification per user, so every device has a stored cursor before the chaos
      // (a device without one resumes "live only" by contract, which would be a gap of the test's making)
      const deadline = (): number => hardDeadline;
      const http = new HttpProducer(cluster.ingestUrl, options.seed, deadline, (what) => errors.push(what));
      const warm = await Promise.all(userIds.map((u) => http.send(`warmup-${u}`, u)));
      report.warmup = warm.filter(Boolean).length;
      const warmed = await until(
        async () =>
          devices.every((d) => d.highestSeen >= 1) &&
          (
            await cluster!.db.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM device_cursors WHERE acked_seq >= 1',
            )
          )[0].n === devices.length,
        Math.min(20_000, remaining()),
      );
      if (!warmed) throw new Error('warm-up: not every device received and acked its first notification');
      phase('warmup');

      // --- producing, with the chaos schedule running alongside
      const producingDeadline = (): number => hardDeadline - Math.min(45_000, options.durationMs / 3);
      const httpCount = Math.ceil(options.notifications / 2);
      const amqpCount = options.notifications - httpCount;
      const targets = Array.from(
        { length: options.notifications },
        () => userIds[Math.floor(random() * userIds.length)],
      );
      amqp = new AmqpProducer(cluster.vhost.url, options.seed, producingDeadline);
      const httpProducer = new HttpProducer(cluster.ingestUrl, options.seed, producingDeadline, (what) =>
        errors.push(what),
      );
      let issued = 0;
      const progress = (): number => issued / options.notifications;
      let producersDone = false;
      s.producingStartedAt = Date.now();
      const producers = Promise.all([
        paced(httpCount, ratePerSecond / 2, 16, producingDeadline, async (i) => {
          issued++;
          if (await httpProducer.send(`http-${i}`, targets[i])) report.acceptedHttp++;
        }),
        paced(amqpCount, ratePerSecond / 2, 64, producingDeadline, async (i) => {
          issued++;
          if (await amqp!.send(i, targets[httpCount + i])) report.acceptedAmqp++;
        }),
      ]).finally(() => (producersDone = true));

      const devicesOn = (node: string): number =>
        devices.filter((d) => d.live && d.conn?.node === node).length;
      const schedule = runSchedule(
        cluster,
        s,
        random,
        progress,
        () => producersDone,
        producingDeadline,
        devicesOn,
        log,
        options.postgresRestart ?? false,
      );
      const cuts = runCuts(devices, s, random, options.cutFraction ?? 0.1, progress, () => producersDone);
      await producers;
      await Promise.all([schedule, cuts]);
      report.accepted = report.warmup + report.acceptedHttp + report.acceptedAmqp;
      report.http = {
        attempts: http.attempts + httpProducer.attempts,
        retries: http.retries + httpProducer.retries,
      };
      report.amqp = {
        publishes: amqp.publishes,
        republishes: amqp.republishes,
        connections: amqp.connections,
      };
      await amqp.close();
      phase('producing');
      if (report.accepted !== report.warmup + options.notifications) {
        errors.push(
          `only ${report.accepted - report.warmup} of ${options.notifications} notifications were accepted in time`,
        );
      }

      // --- the store: every accepted notification committed once (AMQP ones are committed after the confirm)
      const storedCount = async (): Promise<number> =>
        (await cluster!.db.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications'))[0].n;
      await until(async () => (await storedCount()) >= report.accepted, Math.min(30_000, remaining()), 200);
      await sleep(300); // anything still in flight (a duplicate publish) would show now
      report.stored = await storedCount();
      report.deadLettered = await queueDepth(cluster.vhost.url, INVALID_QUEUE);
      const streams = await cluster.db.query<{ user_id: string; last_seq: number; n: number; max: number }>(
        `SELECT s.user_id, s.last_seq::int AS last_seq, count(n.seq)::int AS n, coalesce(max(n.seq), 0)::int AS max
           FROM user_streams s LEFT JOIN notifications n USING (user_id) GROUP BY s.user_id, s.last_seq`,
      );
      const lastSeq = new Map(streams.map((r) => [r.user_id, r.last_seq]));
      for (const r of streams) {
        if (r.n !== r.last_seq || r.max !== r.last_seq) {
          report.storeMismatches++;
          errors.push(`store: user ${r.user_id} has ${r.n} rows, max seq ${r.max}, last_seq ${r.last_seq}`);
        }
      }
      const ids = new Map(
        (
          await cluster.db.query<{ user_id: string; seq: number; id: string }>(
            'SELECT user_id, seq::int AS seq, id::text AS id FROM notifications',
          )
        ).map((r) => [`${r.user_id}/${r.seq}`, r.id]),
      );
      for (const r of [...http.results, ...httpProducer.results]) {
        if (ids.get(`${r.userId}/${r.seq}`) !== r.id) {
          report.storeMismatches++;
          errors.push(
            `store: 202 said ${r.userId} seq ${r.seq} = ${r.id}, the store has ${ids.get(`${r.userId}/${r.seq}`)}`,
          );
        }
      }
      phase('storeWait');

      // --- every device connected and caught up with its user's last seq
      const caughtUp = (d: Device): boolean => d.live && d.highestSeen === (lastSeq.get(d.userId) ?? 0);
      await until(() => devices.every(caughtUp), Math.min(30_000, remaining()));
      report.devicesNotCaughtUp = devices.filter((d) => !caughtUp(d)).length;
      phase('catchUp');

      // --- final acks, then the cursors: the gateways flush acks every 200 ms
      devices.forEach((d) => d.ack());
      const cursorMismatches = async (): Promise<number> => {
        const rows = await cluster!.db.query<{ user_id: string; device_id: string; acked_seq: number }>(
          'SELECT user_id, device_id, acked_seq::int AS acked_seq FROM device_cursors',
        );
        const cursors = new Map(rows.map((r) => [`${r.user_id}/${r.device_id}`, r.acked_seq]));
        return devices.filter(
          (d) => cursors.get(`${d.userId}/${d.deviceId}`) !== (lastSeq.get(d.userId) ?? 0),
        ).length;
      };
      await sleep(1000);
      await until(
        async () => (await cursorMismatches()) === 0,
        Math.min(10_000, Math.max(remaining(), 2000)),
        250,
      );
      report.cursorMismatches = await cursorMismatches();
      phase('cursorWait');

      // --- what the devices saw
      for (const d of devices) {
        const last = lastSeq.get(d.userId) ?? 0;
        for (let seq = 1; seq <= last; seq++) {
          const got = d.received.get(seq);
          if (got === undefined) report.lost++;
          else if (got !== ids.get(`${d.userId}/${seq}`)) report.contentMismatches++;
        }
        for (const seq of d.received.keys()) if (seq > last) report.contentMismatches++;
      }
      report.devicesGaveUp = devices.filter((d) => d.gaveUp).length;
    } finally {
      clearInterval(ackTimer);
    }
  } catch (err) {
    errors.push(err instanceof Error ? err.message : String(err));
  } finally {
    const cleanupStart = Date.now();
    if (sim) {
      sim.stopping = true;
      sim.timers.forEach((t) => clearTimeout(t));
      devices.forEach((d) => d.close());
      await until(
        () => devices.every((d) => d.ws === null || d.ws.readyState === WebSocket.CLOSED),
        3000,
        50,
      );
      devices.forEach((d) => d.ws?.terminate());
      Object.assign(report, {
        delivered: sim.stats.delivered,
        redelivered: sim.stats.redelivered,
        outOfOrder: sim.stats.outOfOrder,
        gaps: sim.stats.gaps,
        duplicates: sim.stats.duplicates,
        resumeViolations: sim.stats.resumeViolations,
        errorFrames: sim.stats.errorFrames,
        connections: sim.stats.connections,
        connectFailures: sim.stats.connectFailures,
        connectFailureReasons: sim.stats.connectFailureReasons,
        mostFailingDevices: [...devices]
          .filter((d) => d.failures > 0)
          .sort((a, b) => b.failures - a.failures)
          .slice(0, 3)
          .map((d) => `${d.deviceId} ×${d.failures}`),
        cuts: sim.stats.cuts,
        closeCodes: sim.stats.closeCodes,
        events: sim.events,
        anomalies: sim.anomalies,
      });
    }
    await amqp?.close();
    await haproxy?.stop().catch((err: unknown) => errors.push(`haproxy stop: ${String(err)}`));
    if (options.logsDir) {
      const logs = [...(sim?.logs ?? [])];
      if (cluster) {
        logs.push({ name: 'ingest-last', text: cluster.ingest.output() });
        cluster.gateways.forEach((g, i) => logs.push({ name: `gw-${i}-last`, text: g.output() }));
      }
      if (haproxy) logs.push({ name: 'haproxy', text: haproxy.output() });
      await writeLogs(options.logsDir, logs, report).catch((err: unknown) =>
        errors.push(`writing logs: ${String(err)}`),
      );
    }
    await cluster?.stop().catch((err: unknown) => errors.push(`cluster stop: ${String(err)}`));
    clearInterval(sampler);
    phases.cleanup = Date.now() - cleanupStart;
    report.totalMs = Date.now() - startedAt;
  }
  return report;
}

/**
 * The chaos schedule, by production progress so that every event happens while notifications flow:
 * SIGKILL a gateway (15 %), SIGKILL ingest (35 %), restart RabbitMQ (55 %), optionally restart
 * PostgreSQL (65 %), SIGKILL another gateway (75 %). Killed processes are restarted 1–2 s later on
 * the same port.
 */
async function runSchedule(
  cluster: TestCluster,
  sim: Simulation,
  random: () => number,
  progress: () => number,
  producersDone: () => boolean,
  deadline: () => number,
  devicesOn: (node: string) => number,
  log: (line: string) => void,
  postgresRestart: boolean,
): Promise<void> {
  const gateways = cluster.gateways.length;
  const first = Math.floor(random() * gateways);
  const second = (first + 1 + Math.floor(random() * (gateways - 1))) % gateways;
  const at = async (fraction: number): Promise<void> => {
    await until(
      () => progress() >= fraction || producersDone() || Date.now() > deadline(),
      deadline() - Date.now(),
      20,
    );
  };
  const event = async (
    name: ChaosEvent['name'],
    target: string,
    action: () => Promise<string>,
  ): Promise<void> => {
    const started = Date.now();
    const e: ChaosEvent = {
      name,
      target,
      atMs: started - sim.producingStartedAt,
      tookMs: null,
      progress: progress(),
      detail: '',
    };
    sim.events.push(e);
    log(
      `${fmtSeconds(started - sim.startedAt)} chaos: ${name} ${target} (production ${(e.progress * 100).toFixed(0)} %)`,
    );
    try {
      e.detail = await action();
      e.tookMs = Date.now() - started;
      log(
        `${fmtSeconds(Date.now() - sim.startedAt)} chaos: ${name} ${target} back after ${fmtSeconds(e.tookMs)}; ${e.detail}`,
      );
    } catch (err) {
      e.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
      log(`chaos: ${name} ${target} FAILED: ${e.error}`);
    }
  };
  const killGateway = async (index: number): Promise<string> => {
    const node = cluster.nodeId(index);
    const victim = cluster.gateways[index];
    const connected = devicesOn(node);
    victim.child.kill('SIGKILL');
    await victim.exited;
    sim.logs.push({
      name: `${node}-killed-at-${Math.round((Date.now() - sim.startedAt) / 1000)}s`,
      text: victim.output(),
    });
    const pause = 1000 + random() * 1000;
    await sleep(pause);
    await cluster.startGateway(index);
    return `${connected} devices were on ${node}; restarted ${(pause / 1000).toFixed(1)} s after the kill`;
  };

  await at(0.15);
  await event('gateway-kill', `gw-${first}`, () => killGateway(first));
  await at(0.35);
  await event('ingest-kill', 'ingest', async () => {
    const victim = cluster.ingest;
    victim.child.kill('SIGKILL');
    await victim.exited;
    sim.logs.push({
      name: `ingest-killed-at-${Math.round((Date.now() - sim.startedAt) / 1000)}s`,
      text: victim.output(),
    });
    const pause = 500 + random() * 1000;
    await sleep(pause);
    await cluster.startIngest();
    return `restarted ${(pause / 1000).toFixed(1)} s after the kill`;
  });
  // After the ingest kill, so that the ingest process that lived through the broker restart is still
  // running at the end, and whatever it did about it (dead-lettering, say) shows in the checks.
  await at(0.55);
  await event('rabbitmq-restart', 'rabbitmq', async () => {
    const r = await restartRabbitmq({ downMs: 1000 });
    return `stop_app took ${fmtSeconds(r.stopMs)}, down ${fmtSeconds(r.downMs)}`;
  });
  if (postgresRestart) {
    await at(0.65);
    await event('postgres-restart', 'postgresql', async () => {
      const r = await restartPostgres();
      return `${r.command} and back in ${fmtSeconds(r.tookMs)}`;
    });
  }
  await at(0.75);
  await event('gateway-kill', `gw-${second}`, () => killGateway(second));
}

/** Cuts ~cutFraction of the devices' connections (ws.terminate) at random production progress points. */
async function runCuts(
  devices: Device[],
  sim: Simulation,
  random: () => number,
  cutFraction: number,
  progress: () => number,
  producersDone: () => boolean,
): Promise<void> {
  const points = Array.from(
    { length: Math.max(1, Math.round(devices.length * cutFraction)) },
    () => 0.05 + random() * 0.9,
  ).sort((a, b) => a - b);
  while (points.length > 0 && !producersDone()) {
    while (points.length > 0 && points[0] <= progress()) {
      const live = devices.filter((d) => d.live);
      if (live.length === 0) break;
      if (live[Math.floor(random() * live.length)].cut()) {
        sim.stats.cuts++;
        points.shift();
      }
    }
    await sleep(25);
  }
}

/** The run's invariants; an empty list means the run passed. */
export function chaosFailures(r: ChaosReport): string[] {
  const failures: string[] = [];
  const zero: (keyof ChaosReport)[] = [
    'lost',
    'outOfOrder',
    'gaps',
    'duplicates',
    'resumeViolations',
    'contentMismatches',
    'errorFrames',
    'cursorMismatches',
    'storeMismatches',
    'deadLettered',
    'devicesNotCaughtUp',
    'devicesGaveUp',
  ];
  for (const key of zero) if (r[key] !== 0) failures.push(`${key} = ${String(r[key])}, expected 0`);
  if (r.accepted !== r.options.notifications + r.options.users) {
    failures.push(`accepted ${r.accepted}, expected ${r.options.notifications + r.options.users}`);
  }
  if (r.stored !== r.accepted) failures.push(`stored ${r.stored} ≠ accepted ${r.accepted}`);
  const names = r.events.map((e) => e.name).sort();
  const expected = ['gateway-kill', 'gateway-kill', 'ingest-kill'];
  if (r.options.postgresRestart) expected.push('postgres-restart');
  expected.push('rabbitmq-restart');
  if (names.join() !== expected.join())
    failures.push(`chaos events ${names.join(', ') || 'none'}, expected ${expected.join(', ')}`);
  for (const e of r.events) if (e.error) failures.push(`${e.name} ${e.target} failed: ${e.error}`);
  if (r.cuts === 0) failures.push('no client connection was cut');
  failures.push(...r.errors);
  return failures;
}

function tcpMemPages(): number | null {
  try {
    return Number(/^TCP:.* mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1] ?? NaN) || null;
  } catch {
    return null;
  }
}

function tcpMemPressurePages(): number | null {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/tcp_mem', 'utf8').trim().split(/\s+/)[1]) || null;
  } catch {
    return null;
  }
}

/** Messages in a queue, from the broker itself (the management API's figures lag by seconds). */
async function queueDepth(url: string, queue: string): Promise<number> {
  const model = await connect(url);
  try {
    const channel = await model.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await model.close().catch(() => undefined);
  }
}

async function writeLogs(
  dir: string,
  logs: { name: string; text: string }[],
  report: ChaosReport,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const log of logs) await writeFile(join(dir, `${log.name}.log`), log.text);
  await writeFile(join(dir, 'report.json'), JSON.stringify(report, null, 2));
}

function fmtSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The report as the table `npm run chaos` prints and docs/reliability.md records. */
export function formatReport(r: ChaosReport): string {
  const check = (n: number): string => (n === 0 ? 'ok' : 'FAIL');
  const row = (label: string, value: string | number, note = ''): string =>
    `  ${label.padEnd(34)} ${String(value).padStart(8)}  ${note}`.trimEnd();
  const codes = Object.entries(r.closeCodes)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([code, n]) => `${code}×${n}`)
    .join(' ');
  const lines = [
    `chaos run: seed ${r.seed}, ${r.options.users} users × ${r.options.devicesPerUser} devices = ${r.devices} devices ` +
      `(${r.sinceDevices} resume with since, ${r.devices - r.sinceDevices} from the stored cursor), ` +
      `${r.gateways} gateways behind HAProxy, ${r.options.ratePerSecond}/s`,
    row('accepted', r.accepted, `http ${r.acceptedHttp} + amqp ${r.acceptedAmqp} + warm-up ${r.warmup}`),
    row(
      'stored (notifications rows)',
      r.stored,
      r.stored === r.accepted ? 'ok (= accepted)' : 'FAIL (≠ accepted)',
    ),
    row('delivered (notification frames)', r.delivered),
    row('redelivered (after reconnect)', r.redelivered),
    row('lost', r.lost, check(r.lost)),
    row('out-of-order', r.outOfOrder, check(r.outOfOrder)),
    row('gaps', r.gaps, check(r.gaps)),
    row('duplicates within a connection', r.duplicates, check(r.duplicates)),
    row('seqs not after since', r.resumeViolations, check(r.resumeViolations)),
    row('content mismatches', r.contentMismatches, check(r.contentMismatches)),
    row('cursor ≠ last seq (devices)', r.cursorMismatches, check(r.cursorMismatches)),
    row('store mismatches', r.storeMismatches, check(r.storeMismatches)),
    row('dead-lettered', r.deadLettered, check(r.deadLettered)),
    row('error frames', r.errorFrames, check(r.errorFrames)),
    row(
      'devices not caught up / gave up',
      `${r.devicesNotCaughtUp}/${r.devicesGaveUp}`,
      check(r.devicesNotCaughtUp + r.devicesGaveUp),
    ),
    row(
      'connections (ready)',
      r.connections,
      `cuts ${r.cuts}, failed attempts ${r.connectFailures}; closes ${codes}`,
    ),
    row(
      'failed connection attempts by reason',
      '',
      (Object.entries(r.connectFailureReasons)
        .map(([reason, n]) => `${reason} ×${n}`)
        .join('; ') || '-') +
        (r.mostFailingDevices.length ? `; most: ${r.mostFailingDevices.join(', ')}` : ''),
    ),
    row(
      'producer retries',
      `${r.http.retries + r.amqp.republishes}`,
      `http ${r.http.retries} of ${r.http.attempts} attempts, amqp ${r.amqp.republishes} republished, ${r.amqp.connections} connections`,
    ),
    '  chaos events (time since production start, production progress):',
    ...r.events.map(
      (e) =>
        `    ${fmtSeconds(e.atMs).padStart(7)} ${String(Math.round(e.progress * 100)).padStart(3)} %  ${e.name} ${e.target}` +
        (e.error ? `  FAILED: ${e.error}` : `  back after ${fmtSeconds(e.tookMs ?? 0)} (${e.detail})`),
    ),
    `  machine: TCP memory at most ${r.machine.tcpMemPagesMax ?? '?'} pages (kernel pressure from ` +
      `${r.machine.tcpMemPressurePages ?? '?'}), load average at most ${r.machine.loadMax.toFixed(2)}`,
    '  durations: ' +
      Object.entries(r.phases)
        .map(([name, ms]) => `${name} ${fmtSeconds(ms)}`)
        .join(', ') +
      `; total ${fmtSeconds(r.totalMs)}`,
  ];
  if (r.anomalies.length > 0) lines.push('  first anomalies:', ...r.anomalies.map((a) => `    ${a}`));
  if (r.errors.length > 0) lines.push('  errors:', ...r.errors.slice(0, 20).map((e) => `    ${e}`));
  return lines.join('\n');
}
