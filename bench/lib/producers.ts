import { randomUUID } from 'node:crypto';
import { connect, type ConfirmChannel } from 'amqplib';
import type { LatencySummary } from './clients';
import { KeepAliveClient } from './http-client';
import type { PoolCounts } from './ws-pool';
import { now, sleep } from './proc';

/** Producers of targeted notifications, and the runs that measure them, shared by W1 and W6. */

export const BATCH = 1000;
/**
 * Requests in flight of every one-notification-per-request HTTP producer: notify's (W1, W5, W6) and the
 * W5 peers', so that both sides of a comparison are loaded alike.
 */
export const HTTP_IN_FLIGHT = 64;
const BODY = 'y'.repeat(120);

export type Path = 'amqp' | 'http';

/** One producer path into ingest, sending targeted notifications with `data.t` = send time. */
export interface Producer {
  /** Sends notifications for these users; resolves when ingest (HTTP) or the broker (AMQP) accepted them. */
  send(users: readonly number[]): Promise<void>;
  /** Notifications HTTP refused (never expected). */
  refused: number;
  close(): Promise<void>;
}

export const notification = (user: number, prefix = 'w1'): Record<string, unknown> => ({
  userId: `${prefix}-${user}`,
  topic: 'bench',
  title: 'Benchmark',
  body: BODY,
  data: { t: now() },
});

export async function amqpProducer(url: string, prefix = 'w1'): Promise<Producer> {
  const conn = await connect(url, { noDelay: true });
  const ch: ConfirmChannel = await conn.createConfirmChannel();
  return {
    refused: 0,
    async send(users) {
      for (const u of users)
        ch.publish(
          'notify.ingest',
          'notification.bench',
          Buffer.from(JSON.stringify(notification(u, prefix))),
          {
            persistent: true,
            messageId: randomUUID(),
            contentType: 'application/json',
          },
        );
      await ch.waitForConfirms();
    },
    close: () => conn.close().catch(() => undefined),
  };
}

/** One notification per request, as a backend sends them; keep-alive, `inFlight` requests at once. */
export function httpProducer(baseUrl: string, apiKey: string, inFlight: number, prefix = 'w1'): Producer {
  const { hostname, port } = new URL(baseUrl);
  const client = new KeepAliveClient(hostname, Number(port), inFlight);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
  const post = async (user: number): Promise<number> =>
    (await client.request('POST', '/v1/notifications', headers, JSON.stringify(notification(user, prefix))))
      .status;
  const producer: Producer = {
    refused: 0,
    async send(users) {
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < users.length) {
          const status = await post(users[next++]);
          if (status !== 202 && status !== 201 && status !== 200) producer.refused++;
        }
      };
      await Promise.all(Array.from({ length: Math.min(inFlight, users.length) }, lane));
    },
    close: async () => client.close(),
  };
  return producer;
}

/** What a run needs of a client process: its counters armed for `expected` frames (ours or Socket.IO's). */
export interface FrameCounter {
  expect(
    expected: number,
    timeoutMs: number,
  ): Promise<{ result: Promise<PoolCounts & { reached: boolean; latency?: LatencySummary }> }>;
}

export interface Run {
  sent: number;
  delivered: number;
  /** First send → last frame at the clients. */
  seconds: number;
  /** First send → producer's last acceptance (HTTP responses, broker confirms). */
  acceptSeconds: number;
  reached: boolean;
  minPerSocket: number;
  closed: number;
  latency?: LatencySummary;
}

/** Once everything was sent (t0 = first send): what the clients saw. */
export async function finish(
  result: Promise<PoolCounts & { reached: boolean; latency?: LatencySummary }>,
  t0: number,
  sent: number,
): Promise<Run> {
  const acceptSeconds = (now() - t0) / 1000;
  const r = await result;
  return {
    sent,
    delivered: r.frames,
    seconds: (r.lastFrameAt - t0) / 1000,
    acceptSeconds,
    reached: r.reached,
    minPerSocket: r.minPerSocket,
    closed: r.closedAfterReady,
    latency: r.latency,
  };
}

/** As fast as the path accepts: M notifications round robin over U users. */
export async function maxRun(
  w: FrameCounter,
  p: Producer,
  M: number,
  U: number,
  timeoutMs: number,
): Promise<Run> {
  const { result } = await w.expect(M, timeoutMs);
  const t0 = now();
  for (let i = 0; i < M; i += BATCH)
    await p.send(Array.from({ length: Math.min(BATCH, M - i) }, (_, k) => (i + k) % U));
  return finish(result, t0, M);
}

/**
 * Open loop at `rate`/s for `seconds`: the i-th notification is due at i / rate, sent whatever came
 * back. The loop sleeps until the next one is due (timers have 1 ms resolution, so above 1,000/s
 * whatever fell due meanwhile goes together): a fixed 5 ms tick sent 1,000/s as bursts of five, whose
 * last waited behind the first four in ingest, a burstier load than the rate says.
 */
export async function pacedRun(
  w: FrameCounter,
  p: Producer,
  rate: number,
  seconds: number,
  U: number,
  timeoutMs: number,
): Promise<Run> {
  const total = Math.max(1, Math.round(rate * seconds));
  const { result } = await w.expect(total, timeoutMs);
  const t0 = now();
  let sent = 0;
  let user = 0;
  const pending: Promise<void>[] = [];
  let failure: unknown;
  while (sent < total && now() - t0 < timeoutMs) {
    const due = Math.min(total, Math.floor(((now() - t0) / 1000) * rate) + 1);
    if (due > sent) {
      const users = Array.from({ length: due - sent }, () => user++ % U);
      sent = due;
      // Caught at once, so that a failed send is reported below rather than as an unhandled rejection
      // that ends the process while later sends are still being paced.
      pending.push(
        p.send(users).catch((err: unknown) => {
          failure ??= err;
        }),
      );
    }
    await sleep(Math.max(1, t0 + (sent / rate) * 1000 - now()));
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  return finish(result, t0, sent);
}
