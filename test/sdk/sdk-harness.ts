import WebSocket from 'ws';
import {
  MemoryStorage,
  NotifyClient,
  type ChannelMessage,
  type NotifyClientOptions,
  type NotifyError,
  type ReadChange,
  type StateChange,
  type SubscriptionStatus,
  type UserNotification,
  type WebSocketConstructor,
} from '@notify/client';
import type { TestCluster } from '@notify/testing';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` every 20 ms; fails with `describe()` after `timeoutMs`. Always bounded. */
export async function waitUntil(
  condition: () => boolean,
  describe: () => string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(20);
  }
}

/** What the SDK sent and which URLs it opened, through a `ws` WebSocket subclass. */
export interface Wire {
  urls: string[];
  sent: { type: string; [key: string]: unknown }[];
  sockets: WebSocket[];
}

export function spyWebSocket(wire: Wire): WebSocketConstructor {
  return class SpyWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      wire.urls.push(url);
      wire.sockets.push(this);
    }
    override send(data: string): void {
      wire.sent.push(JSON.parse(data) as { type: string });
      super.send(data);
    }
  };
}

/** A NotifyClient in Node (`ws`) that records everything it tells the app. */
export class RecordingClient {
  readonly wire: Wire = { urls: [], sent: [], sockets: [] };
  readonly notifications: UserNotification[] = [];
  readonly messages: ChannelMessage[] = [];
  readonly states: (StateChange & { at: number })[] = [];
  readonly errors: NotifyError[] = [];
  readonly reads: ReadChange[] = [];
  readonly subscribed: SubscriptionStatus[] = [];
  readonly client: NotifyClient;

  constructor(options: Omit<NotifyClientOptions, 'WebSocket'>) {
    this.client = new NotifyClient({
      storage: new MemoryStorage(),
      backoff: { baseMs: 100, capMs: 1000 },
      ...options,
      WebSocket: spyWebSocket(this.wire),
    });
    this.client.on('notification', (n) => void this.notifications.push(n));
    this.client.on('message', (m) => void this.messages.push(m));
    this.client.on('state', (s) => void this.states.push({ ...s, at: Date.now() }));
    this.client.on('error', (e) => void this.errors.push(e));
    this.client.on('read', (r) => void this.reads.push(r));
    this.client.on('subscribed', (s) => void this.subscribed.push(s));
  }

  seqs(): number[] {
    return this.notifications.map((n) => n.seq);
  }

  acks(): number[] {
    return this.wire.sent.filter((f) => f.type === 'ack').map((f) => f.seq as number);
  }

  /** The underlying socket of the current connection (the last one opened). */
  socket(): WebSocket {
    const ws = this.wire.sockets.at(-1);
    if (!ws) throw new Error('no socket opened yet');
    return ws;
  }

  async waitForSeqs(count: number, timeoutMs = 15_000): Promise<void> {
    await waitUntil(
      () => this.notifications.length >= count,
      () => `${count} notifications, got ${JSON.stringify(this.seqs())}; states ${this.stateTrail()}`,
      timeoutMs,
    );
  }

  async waitForState(
    predicate: (s: StateChange) => boolean,
    fromIndex = 0,
    timeoutMs = 15_000,
  ): Promise<StateChange & { at: number }> {
    let found: (StateChange & { at: number }) | undefined;
    await waitUntil(
      () => (found = this.states.slice(fromIndex).find(predicate)) !== undefined,
      () => `state change not seen; states ${this.stateTrail()}`,
      timeoutMs,
    );
    return found as StateChange & { at: number };
  }

  stateTrail(): string {
    return this.states
      .map((s) => `${s.state}${s.closeCode ? `(${s.closeCode})` : ''}${s.node ? `@${s.node}` : ''}`)
      .join(' → ');
  }
}

export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** POSTs `count` notifications to `userId`, one after the other; returns their ids in seq order. */
export async function postMany(cluster: TestCluster, userId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await cluster.post({ userId, topic: 'sdk.test', title: `n${i}` });
    if (res.status !== 202)
      throw new Error(`POST /v1/notifications: ${res.status} ${JSON.stringify(res.body)}`);
    ids.push((res.body as { results: { id: string }[] }).results[0].id);
  }
  return ids;
}

export async function publishChannel(cluster: TestCluster, channel: string, data: unknown): Promise<number> {
  const res = await cluster.publish(channel, { data });
  if (res.status !== 202) throw new Error(`POST channel message: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { offset: number }).offset;
}

/** `ws://127.0.0.1:<port>/v1/ws` of a gateway, without a query (the SDK adds device, token, since). */
export function gatewayUrl(port: number): string {
  return `ws://127.0.0.1:${port}/v1/ws`;
}

export async function deviceCursor(cluster: TestCluster, userId: string, deviceId: string): Promise<number> {
  const rows = await cluster.db.query<{ acked_seq: number }>(
    'SELECT acked_seq::int FROM device_cursors WHERE user_id = $1 AND device_id = $2',
    [userId, deviceId],
  );
  return rows[0]?.acked_seq ?? 0;
}

/**
 * `cluster.startGateway(index)` for a gateway that was killed while SDK clients keep reconnecting to
 * its port. The gateway listens before its node queue is declared, and a client that connects in
 * between makes it bind to a queue that does not exist yet, which kills the process (unhandled
 * 'error' on the channel wrapper: a services bug, reported). Only that exact crash is retried, once.
 */
export async function restartGateway(
  cluster: TestCluster,
  index: number,
  extraEnv: Record<string, string> = {},
): Promise<void> {
  try {
    await cluster.startGateway(index, extraEnv);
  } catch (err) {
    const output = cluster.gateways[index]?.output() ?? '';
    if (!/NOT_FOUND - no queue 'notify\.gateway\./.test(output)) throw err;
    process.stderr.write(
      `[sdk tests] gateway ${index} died of the startup bind race (node queue not declared yet); restarting once\n`,
    );
    await cluster.startGateway(index, extraEnv);
  }
}
