import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { Topology } from '@notify/amqp';
import { hmacSha256Hex, md5Hex, requestSigningString, type PusherApp } from '@notify/pusher';

export const TEST_PUSHER_APP: PusherApp = { id: '1', key: 'app-key', secret: 'app-secret-123' };
export const OTHER_PUSHER_APP: PusherApp = { id: '2', key: 'other-key', secret: 'other-secret-1' };
/** NOTIFY_PUSHER_APPS for the two apps above. */
export const TEST_PUSHER_APPS = [TEST_PUSHER_APP, OTHER_PUSHER_APP]
  .map((a) => `${a.id}:${a.key}:${a.secret}`)
  .join(',');

export interface SignedRequest {
  method: 'GET' | 'POST';
  /** Under the app, e.g. `/events` (the request goes to `/apps/{id}/events`). */
  path: string;
  params?: Record<string, string>;
  body?: string | Buffer;
  /** Overrides, to build requests that must be refused. */
  timestamp?: number;
  bodyMd5?: string;
  signWith?: PusherApp;
}

export interface PlainAnswer {
  status: number;
  text: string;
  contentType: string;
}

/**
 * A request signed as Pusher's SDKs sign them, built by hand so that tests can bend any part of it
 * (the signature helpers are checked against the pusher SDK in libs/pusher's spec).
 */
export async function pusherRequest(baseUrl: string, app: PusherApp, r: SignedRequest): Promise<PlainAnswer> {
  const signer = r.signWith ?? app;
  const path = `/apps/${app.id}${r.path}`;
  const query: Record<string, string> = {
    ...r.params,
    auth_key: signer.key,
    auth_timestamp: String(r.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
  };
  if (r.body !== undefined) query.body_md5 = r.bodyMd5 ?? md5Hex(r.body);
  query.auth_signature = hmacSha256Hex(signer.secret, requestSigningString(r.method, path, query));
  const res = await fetch(`${baseUrl}${path}?${new URLSearchParams(query).toString()}`, {
    method: r.method,
    headers: r.body === undefined ? {} : { 'content-type': 'application/json' },
    body: r.body,
  });
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

export interface TappedDelivery {
  routingKey: string;
  type: string | undefined;
  headers: Record<string, unknown>;
  body: string;
}

/** Every message published on notify.delivery from now on, through a queue of the test's own. */
export async function tapDelivery(channel: ConfirmChannel): Promise<TappedDelivery[]> {
  const seen: TappedDelivery[] = [];
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, Topology.deliveryExchange, '#');
  await channel.consume(
    queue,
    (m: ConsumeMessage | null) => {
      if (!m) return;
      seen.push({
        routingKey: m.fields.routingKey,
        type: m.properties.type as string | undefined,
        headers: (m.properties.headers ?? {}) as Record<string, unknown>,
        body: m.content.toString(),
      });
    },
    { noAck: true },
  );
  return seen;
}

/** Waits until `pick` finds something in `list` (polled every 20 ms, at most `timeoutMs`). */
export async function eventually<T>(
  list: readonly T[],
  pick: (items: readonly T[]) => boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pick(list)) {
    if (Date.now() > deadline)
      throw new Error(`not seen within ${timeoutMs} ms: ${JSON.stringify(list).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface WebhookReceiver {
  /** Where to POST: NOTIFY_PUSHER_WEBHOOK_URL. */
  url: string;
  close(): Promise<void>;
}

/**
 * A webhook receiver on 127.0.0.1: `answer` is given each request's headers and whole body and
 * returns the status to answer with.
 */
export async function startWebhookReceiver(
  answer: (headers: IncomingHttpHeaders, body: string) => number,
): Promise<WebhookReceiver> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => res.writeHead(answer(req.headers, body)).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
